package dev.lorabeam.transforms.pack;

import dev.lorabeam.transforms.BlockChecks;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;

public class BatchBlocksTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private static List<PackedBlock> blocks(int n) {
    List<PackedBlock> out = new ArrayList<>();
    new BlockPacker(16, BlockPacker.LongDocPolicy.SPLIT, 0, 0)
        .pack(BlockChecks.docs(n, 17, 5), out::add);
    return out;
  }

  @Test
  public void groupsAllBlocksIntoBatchesOfB() {
    List<PackedBlock> input = blocks(40);
    PCollection<TrainBatch> batches = pipeline
        .apply(Create.of(input).withCoder(PackedBlockCoder.of()))
        .apply(BatchBlocks.of(4));
    PAssert.that(batches).satisfies(bs -> {
      List<PackedBlock> seen = new ArrayList<>();
      int partial = 0;
      for (TrainBatch b : bs) {
        partial += b.size() < 4 ? 1 : 0;
        seen.addAll(b.blocks());
      }
      assertEquals("at most one partial batch", true, partial <= 1);
      assertEquals(input.size(), seen.size());
      assertEquals(new java.util.HashSet<>(input), new java.util.HashSet<>(seen));
      return null;
    });
    pipeline.run();
  }

  @Test
  public void dropIncompleteKeepsOnlyFullBatches() {
    List<PackedBlock> input = blocks(40);
    PCollection<TrainBatch> batches = pipeline
        .apply(Create.of(input).withCoder(PackedBlockCoder.of()))
        .apply(BatchBlocks.of(3).dropIncomplete());
    PAssert.that(batches).satisfies(bs -> {
      int n = 0;
      for (TrainBatch b : bs) {
        assertEquals(3, b.size());
        n++;
      }
      assertEquals(input.size() / 3, n);
      return null;
    });
    pipeline.run();
  }

  @Test
  public void batchLayoutIsRowMajorAndCoderRoundTrips() throws Exception {
    List<PackedBlock> input = blocks(10).subList(0, 2);
    TrainBatch batch = new TrainBatch(input);
    assertEquals(2 * 17, batch.tokens().length);
    assertEquals(input.get(1).tokens()[0], batch.tokens()[17]);
    assertEquals(input.get(1).segments()[3], batch.segments()[16 + 3]);
    CoderProperties.coderDecodeEncodeEqual(TrainBatch.TrainBatchCoder.of(), batch);
  }
}
