package dev.lorabeam.pipeline.train;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;

/**
 * Mutable holder of {@link TrainConfig}'s values, for code and tests that build a config without a
 * command line. It starts from the defaults declared on the {@code train} flags ({@link TrainFlags});
 * no default is written here. {@link #build} validates; the setters never do.
 */
public final class TrainConfigBuilder {
  private static final RecordComponent[] COMPONENTS = TrainConfig.class.getRecordComponents();
  private static final TrainConfig DEFAULTS = TrainFlags.defaults();

  /** The record's components' values, in declaration order. */
  private final Object[] values = new Object[COMPONENTS.length];

  TrainConfigBuilder(String model, String data) {
    this(DEFAULTS);
    model(model);
    data(data);
  }

  private TrainConfigBuilder(TrainConfig c) {
    for (int i = 0; i < COMPONENTS.length; i++) {
      try {
        values[i] = COMPONENTS[i].getAccessor().invoke(c);
      } catch (IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException("cannot read TrainConfig." + COMPONENTS[i].getName(), e);
      }
    }
  }

  static TrainConfigBuilder from(TrainConfig c) {
    return new TrainConfigBuilder(c);
  }

  /** Validates every value; a bad one throws {@link IllegalArgumentException} naming its flag. */
  public TrainConfig build() {
    try {
      Class<?>[] types = Arrays.stream(COMPONENTS).map(RecordComponent::getType).toArray(Class<?>[]::new);
      Constructor<TrainConfig> canonical = TrainConfig.class.getDeclaredConstructor(types);
      return canonical.newInstance(values.clone());
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;  // the compact constructor's message names the flag
      }
      throw new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct TrainConfig", e);
    }
  }

  private TrainConfigBuilder set(String component, Object value) {
    for (int i = 0; i < COMPONENTS.length; i++) {
      if (COMPONENTS[i].getName().equals(component)) {
        values[i] = value;
        return this;
      }
    }
    throw new IllegalStateException("TrainConfig has no component " + component);
  }

  public TrainConfigBuilder model(String v) { return set("model", v); }
  public TrainConfigBuilder data(String v) { return set("data", v); }
  public TrainConfigBuilder maxMemoryGb(Double v) { return set("maxMemoryGb", v); }
  public TrainConfigBuilder reloadInterval(int v) { return set("reloadInterval", v); }
  public TrainConfigBuilder batchSize(int v) { return set("batchSize", v); }
  public TrainConfigBuilder loraRank(int v) { return set("loraRank", v); }
  public TrainConfigBuilder loraScale(double v) { return set("loraScale", v); }
  public TrainConfigBuilder loraLayers(int v) { return set("loraLayers", v); }
  public TrainConfigBuilder loraDropout(double v) { return set("loraDropout", v); }
  public TrainConfigBuilder targetModules(List<String> v) { return set("targetModules", v); }
  public TrainConfigBuilder quantize(int v) { return set("quantize", v); }
  public TrainConfigBuilder trainSeqLength(int v) { return set("trainSeqLength", v); }
  public TrainConfigBuilder maxSteps(Integer v) { return set("maxSteps", v); }
  public TrainConfigBuilder epochs(int v) { return set("epochs", v); }
  public TrainConfigBuilder learningRate(double v) { return set("learningRate", v); }
  public TrainConfigBuilder warmupSteps(int v) { return set("warmupSteps", v); }
  public TrainConfigBuilder lrSchedule(String v) { return set("lrSchedule", v); }
  public TrainConfigBuilder weightDecay(double v) { return set("weightDecay", v); }
  public TrainConfigBuilder maxGradNorm(double v) { return set("maxGradNorm", v); }
  public TrainConfigBuilder gradAccumulation(int v) { return set("gradAccumulation", v); }
  public TrainConfigBuilder gradCheckpoint(boolean v) { return set("gradCheckpoint", v); }
  public TrainConfigBuilder maskPrompt(boolean v) { return set("maskPrompt", v); }
  public TrainConfigBuilder stepsPerEval(int v) { return set("stepsPerEval", v); }
  public TrainConfigBuilder valBatches(int v) { return set("valBatches", v); }
  public TrainConfigBuilder saveEvery(int v) { return set("saveEvery", v); }
  public TrainConfigBuilder adapterPath(String v) { return set("adapterPath", v); }
  public TrainConfigBuilder resume(boolean v) { return set("resume", v); }
  public TrainConfigBuilder seed(long v) { return set("seed", v); }
  public TrainConfigBuilder metricsFile(String v) { return set("metricsFile", v); }
  public TrainConfigBuilder distrust(String v) { return set("distrust", v); }
  public TrainConfigBuilder alpha(double v) { return set("alpha", v); }
  public TrainConfigBuilder lambdaWeight(double v) { return set("lambdaWeight", v); }
  public TrainConfigBuilder computeDtype(String v) { return set("computeDtype", v); }
  public TrainConfigBuilder keepCheckpoints(int v) { return set("keepCheckpoints", v); }
  public TrainConfigBuilder maxBadFraction(double v) { return set("maxBadFraction", v); }
  public TrainConfigBuilder continueSchedule(boolean v) { return set("continueSchedule", v); }
}
