package dev.lorabeam.pipeline.train;

import java.util.List;

/**
 * Mutable holder of {@link TrainConfig}'s values with the defaults users know (mlx-lm's where the
 * old tool had none). {@link #build} validates; the setters never do.
 */
public final class TrainConfigBuilder {
  public static final int DEFAULT_BATCH_SIZE = 4;
  public static final int DEFAULT_LORA_RANK = 8;
  public static final double DEFAULT_LORA_SCALE = 20.0;
  public static final int DEFAULT_LORA_LAYERS = 16;
  public static final int DEFAULT_TRAIN_SEQ_LENGTH = 512;
  public static final double DEFAULT_LEARNING_RATE = 1e-5;
  public static final double DEFAULT_ALPHA = 2.7;

  private String model;
  private String data;
  private Double maxMemoryGb;
  private int reloadInterval = 0;
  private int batchSize = DEFAULT_BATCH_SIZE;
  private int loraRank = DEFAULT_LORA_RANK;
  private double loraScale = DEFAULT_LORA_SCALE;
  private int loraLayers = DEFAULT_LORA_LAYERS;
  private double loraDropout = 0.0;
  private List<String> targetModules = TargetModules.ALL;
  private int quantize = 0;
  private int trainSeqLength = DEFAULT_TRAIN_SEQ_LENGTH;
  private Integer maxSteps;
  private int epochs = 1;
  private double learningRate = DEFAULT_LEARNING_RATE;
  private int warmupSteps = 0;
  private String lrSchedule = "constant";
  private double weightDecay = 0.01;
  private double maxGradNorm = 1.0;
  private int gradAccumulation = 1;
  private boolean gradCheckpoint;
  private boolean maskPrompt;
  private int stepsPerEval = 200;
  private int valBatches = 25;
  private int saveEvery = 100;
  private String adapterPath = "adapters";
  private boolean resume;
  private long seed = 0;
  private String metricsFile;
  private String distrust = "off";
  private double alpha = DEFAULT_ALPHA;
  private double lambdaWeight = 1.0;
  private String computeDtype = "float32";
  private int keepCheckpoints = 3;
  private double maxBadFraction = 0.01;
  private boolean continueSchedule;

  TrainConfigBuilder(String model, String data) {
    this.model = model;
    this.data = data;
  }

  static TrainConfigBuilder from(TrainConfig c) {
    TrainConfigBuilder b = new TrainConfigBuilder(c.model(), c.data());
    b.maxMemoryGb = c.maxMemoryGb();
    b.reloadInterval = c.reloadInterval();
    b.batchSize = c.batchSize();
    b.loraRank = c.loraRank();
    b.loraScale = c.loraScale();
    b.loraLayers = c.loraLayers();
    b.loraDropout = c.loraDropout();
    b.targetModules = c.targetModules();
    b.quantize = c.quantize();
    b.trainSeqLength = c.trainSeqLength();
    b.maxSteps = c.maxSteps();
    b.epochs = c.epochs();
    b.learningRate = c.learningRate();
    b.warmupSteps = c.warmupSteps();
    b.lrSchedule = c.lrSchedule();
    b.weightDecay = c.weightDecay();
    b.maxGradNorm = c.maxGradNorm();
    b.gradAccumulation = c.gradAccumulation();
    b.gradCheckpoint = c.gradCheckpoint();
    b.maskPrompt = c.maskPrompt();
    b.stepsPerEval = c.stepsPerEval();
    b.valBatches = c.valBatches();
    b.saveEvery = c.saveEvery();
    b.adapterPath = c.adapterPath();
    b.resume = c.resume();
    b.seed = c.seed();
    b.metricsFile = c.metricsFile();
    b.distrust = c.distrust();
    b.alpha = c.alpha();
    b.lambdaWeight = c.lambdaWeight();
    b.computeDtype = c.computeDtype();
    b.keepCheckpoints = c.keepCheckpoints();
    b.maxBadFraction = c.maxBadFraction();
    b.continueSchedule = c.continueSchedule();
    return b;
  }

  /** Validates every value; a bad one throws {@link IllegalArgumentException} naming its flag. */
  public TrainConfig build() {
    return new TrainConfig(model, data, maxMemoryGb, reloadInterval, batchSize, loraRank, loraScale,
        loraLayers, loraDropout, targetModules, quantize, trainSeqLength, maxSteps, epochs,
        learningRate, warmupSteps, lrSchedule, weightDecay, maxGradNorm, gradAccumulation,
        gradCheckpoint, maskPrompt, stepsPerEval, valBatches, saveEvery, adapterPath, resume, seed,
        metricsFile, distrust, alpha, lambdaWeight, computeDtype, keepCheckpoints,
        maxBadFraction, continueSchedule);
  }

  public TrainConfigBuilder model(String v) { model = v; return this; }
  public TrainConfigBuilder data(String v) { data = v; return this; }
  public TrainConfigBuilder maxMemoryGb(Double v) { maxMemoryGb = v; return this; }
  public TrainConfigBuilder reloadInterval(int v) { reloadInterval = v; return this; }
  public TrainConfigBuilder batchSize(int v) { batchSize = v; return this; }
  public TrainConfigBuilder loraRank(int v) { loraRank = v; return this; }
  public TrainConfigBuilder loraScale(double v) { loraScale = v; return this; }
  public TrainConfigBuilder loraLayers(int v) { loraLayers = v; return this; }
  public TrainConfigBuilder loraDropout(double v) { loraDropout = v; return this; }
  public TrainConfigBuilder targetModules(List<String> v) { targetModules = v; return this; }
  public TrainConfigBuilder quantize(int v) { quantize = v; return this; }
  public TrainConfigBuilder trainSeqLength(int v) { trainSeqLength = v; return this; }
  public TrainConfigBuilder maxSteps(Integer v) { maxSteps = v; return this; }
  public TrainConfigBuilder epochs(int v) { epochs = v; return this; }
  public TrainConfigBuilder learningRate(double v) { learningRate = v; return this; }
  public TrainConfigBuilder warmupSteps(int v) { warmupSteps = v; return this; }
  public TrainConfigBuilder lrSchedule(String v) { lrSchedule = v; return this; }
  public TrainConfigBuilder weightDecay(double v) { weightDecay = v; return this; }
  public TrainConfigBuilder maxGradNorm(double v) { maxGradNorm = v; return this; }
  public TrainConfigBuilder gradAccumulation(int v) { gradAccumulation = v; return this; }
  public TrainConfigBuilder gradCheckpoint(boolean v) { gradCheckpoint = v; return this; }
  public TrainConfigBuilder maskPrompt(boolean v) { maskPrompt = v; return this; }
  public TrainConfigBuilder stepsPerEval(int v) { stepsPerEval = v; return this; }
  public TrainConfigBuilder valBatches(int v) { valBatches = v; return this; }
  public TrainConfigBuilder saveEvery(int v) { saveEvery = v; return this; }
  public TrainConfigBuilder adapterPath(String v) { adapterPath = v; return this; }
  public TrainConfigBuilder resume(boolean v) { resume = v; return this; }
  public TrainConfigBuilder seed(long v) { seed = v; return this; }
  public TrainConfigBuilder metricsFile(String v) { metricsFile = v; return this; }
  public TrainConfigBuilder distrust(String v) { distrust = v; return this; }
  public TrainConfigBuilder alpha(double v) { alpha = v; return this; }
  public TrainConfigBuilder lambdaWeight(double v) { lambdaWeight = v; return this; }
  public TrainConfigBuilder computeDtype(String v) { computeDtype = v; return this; }
  public TrainConfigBuilder keepCheckpoints(int v) { keepCheckpoints = v; return this; }
  public TrainConfigBuilder maxBadFraction(double v) { maxBadFraction = v; return this; }
  public TrainConfigBuilder continueSchedule(boolean v) { continueSchedule = v; return this; }
}
