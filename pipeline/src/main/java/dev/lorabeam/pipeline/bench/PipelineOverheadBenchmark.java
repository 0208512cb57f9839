package dev.lorabeam.pipeline.bench;

import dev.lorabeam.pipeline.train.StepTiming;
import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainJob;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Beam/JVM overhead of training: the same batches through the full pipeline (read, tokenize,
 * pack, order, stateful trainer) versus the time spent in the engine's step alone.
 *
 * <p>Run: {@code mvn -q -pl pipeline exec:java
 * -Dexec.mainClass=dev.lorabeam.pipeline.bench.PipelineOverheadBenchmark -Dexec.args="[steps] [seq] [batch]"}
 * (defaults 12 steps of 1×256 tokens on the demo model and data/sample). The first two steps
 * (graph compilation) are run in a warm-up job and not counted.
 */
public final class PipelineOverheadBenchmark {
  private PipelineOverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 12;
    int seq = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    String root = System.getProperty("lorabeam.root", ".");
    Path out = Files.createTempDirectory("lorabeam-bench");
    run(root, out.resolve("warmup"), 2, seq, batch);
    StepTiming.reset();
    long start = System.nanoTime();
    run(root, out.resolve("measured"), steps, seq, batch);
    double jobSecs = (System.nanoTime() - start) / 1e9;
    StepTiming.Totals t = StepTiming.snapshot();
    
    System.out.printf("%nPipeline overhead on %d steps of %d×%d tokens (demo model, data/sample):%n", t.steps(), batch, seq);
    System.out.printf("  whole job (read, tokenize, pack, order, train, save): %.1f s%n", jobSecs);
    System.out.printf("  training span (first step start → last step end):      %.1f s%n", t.spanSecs());
    System.out.printf("  inside Engine.step:                                   %.1f s (%.2f s/step)%n",
        t.engineSecs(), t.engineSecs() / t.steps());
    System.out.printf("  trainer wall per step / engine step:                  %.3f%n",
        t.spanSecs() / t.engineSecs());
    System.out.printf("  whole job / engine time:                              %.3f%n", jobSecs / t.engineSecs());
  }

  private static void run(String root, Path adapters, int steps, int seq, int batch) {
    TrainConfig config = TrainConfig.builder("smollm2-135m", Path.of(root, "data/sample").toString())
        .adapterPath(adapters.toString())
        .maxSteps(steps)
        .trainSeqLength(seq)
        .batchSize(batch)
        .loraLayers(8)
        .saveEvery(0)
        .valBatches(0)
        .build();
    TrainJob.run(config, new String[0]);
  }
}
