package dev.lorabeam.transforms.pack;

import dev.lorabeam.transforms.BlockChecks;

import dev.lorabeam.transforms.render.TokenizedDoc;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;

public class PackSequencesTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private static final int T = 64;

  @Test
  public void pipelinePacksEveryTargetExactlyOnceIntoBlocksOfTPlusOne() {
    List<TokenizedDoc> docs = BlockChecks.docs(300, 3 * T, 1);
    PCollection<PackedBlock> blocks = pipeline
        .apply(Create.of(docs).withCoder(TokenizedDoc.TokenizedDocCoder.of()))
        .apply(PackSequences.of(T).withSeed(7).withBuckets(3));
    PAssert.that(blocks).satisfies(b -> {
      BlockChecks.verify(docs, b, T);
      return null;
    });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    PackSequences.Stats stats = PackSequences.stats(result);
    assertEquals(BlockChecks.totalWeightedTargets(docs), stats.trainedTargets());
    assertEquals(stats.blocks() * T, stats.targetSlots());
    assertTrue("some docs are longer than T+1", stats.docsSplit() > 0);
  }

  @Test
  public void splitKeepsAllTargetsOfLongDocuments() {
    Random rnd = new Random(3);
    List<TokenizedDoc> docs = List.of(BlockChecks.doc(0, 5 * T + 3, rnd),
        BlockChecks.doc(1, 2 * T + 1, rnd), BlockChecks.doc(2, T + 2, rnd));
    List<PackedBlock> blocks = pack(docs, LongDocPolicy.SPLIT, 1);
    BlockChecks.verify(docs, blocks, T);
  }

  @Test
  public void truncateKeepsOnlyTheFirstTPlusOneTokens() {
    Random rnd = new Random(4);
    TokenizedDoc longDoc = BlockChecks.doc(0, 3 * T, rnd);
    List<PackedBlock> blocks = new ArrayList<>();
    BlockPacker.Stats s = new BlockPacker(T, LongDocPolicy.TRUNCATE, 0, 0)
        .pack(List.of(longDoc), blocks::add);
    assertEquals(1, s.truncated);
    assertEquals(1, blocks.size());
    assertEquals(longDoc.tokens()[T], blocks.get(0).tokens()[T]);
  }

  @Test
  public void dropDiscardsLongDocumentsAndCountsThem() {
    Random rnd = new Random(5);
    List<PackedBlock> blocks = new ArrayList<>();
    BlockPacker.Stats s = new BlockPacker(T, LongDocPolicy.DROP, 0, 0)
        .pack(List.of(BlockChecks.doc(0, 3 * T, rnd), BlockChecks.doc(1, 10, rnd)), blocks::add);
    assertEquals(1, s.dropped);
    assertEquals(1, blocks.size());
    assertEquals(1, blocks.get(0).documents());
  }

  @Test
  public void sameSeedGivesSameBlocksWhateverTheInputOrder() {
    List<TokenizedDoc> docs = BlockChecks.docs(200, 2 * T, 9);
    List<TokenizedDoc> shuffled = new ArrayList<>(docs);
    Collections.shuffle(shuffled, new Random(1));
    assertEquals(pack(docs, LongDocPolicy.SPLIT, 42), pack(shuffled, LongDocPolicy.SPLIT, 42));
    assertNotEquals(pack(docs, LongDocPolicy.SPLIT, 42), pack(docs, LongDocPolicy.SPLIT, 43));
  }

  /** Padding only where nothing fits: with many short docs, blocks are nearly full. */
  @Test
  public void packingEfficiencyIsHighForShortDocuments() {
    List<TokenizedDoc> docs = BlockChecks.docs(2000, T / 2, 11);
    BlockPacker.Stats s = new BlockPacker(T, LongDocPolicy.SPLIT, 0, 0)
        .pack(docs, b -> { });
    double fill = 1 - (double) s.paddingSlots / (s.blocks * T);
    assertTrue("fill " + fill, fill > 0.99);
  }

  @Test
  public void fillGapsCutsDocumentsAtBlockEndsAndStillTrainsEveryTargetOnce() {
    List<TokenizedDoc> docs = BlockChecks.docs(400, 3 * T, 12);
    List<PackedBlock> blocks = new ArrayList<>();
    BlockPacker.Stats s = new BlockPacker(T, LongDocPolicy.SPLIT, 5, 0, true)
        .pack(docs, blocks::add);
    BlockChecks.verify(docs, blocks, T);
    double fill = 1 - (double) s.paddingSlots / (s.blocks * T);
    assertTrue("fill " + fill, fill > 0.99);
  }

  /** Documents of 0.6T..T tokens cannot share a block whole; cut, they fill blocks. */
  @Test
  public void fillGapsBeatsWholeDocumentsWhenDocumentsAreJustOverHalfABlock() {
    Random rnd = new Random(14);
    List<TokenizedDoc> docs = new ArrayList<>();
    for (int d = 0; d < 300; d++) {
      docs.add(BlockChecks.doc(d, (int) (0.6 * T) + rnd.nextInt((int) (0.4 * T)), rnd));
    }
    BlockPacker.Stats whole = new BlockPacker(T, LongDocPolicy.SPLIT, 5, 0, false)
        .pack(docs, b -> { });
    List<PackedBlock> blocks = new ArrayList<>();
    BlockPacker.Stats fill = new BlockPacker(T, LongDocPolicy.SPLIT, 5, 0, true)
        .pack(docs, blocks::add);
    BlockChecks.verify(docs, blocks, T);
    assertEquals(whole.trainedTargets, fill.trainedTargets);
    assertTrue(fill.blocks + " vs " + whole.blocks, fill.blocks < 0.85 * whole.blocks);
  }

  @Test
  public void fillGapsInThePipeline() {
    List<TokenizedDoc> docs = BlockChecks.docs(150, 2 * T, 13);
    PCollection<PackedBlock> blocks = pipeline
        .apply(Create.of(docs).withCoder(TokenizedDoc.TokenizedDocCoder.of()))
        .apply(PackSequences.of(T).withFillGaps(true).withBuckets(2));
    PAssert.that(blocks).satisfies(b -> {
      BlockChecks.verify(docs, b, T);
      return null;
    });
    pipeline.run();
  }

  @Test
  public void coderRoundTripsBlocks() throws Exception {
    for (PackedBlock b : pack(BlockChecks.docs(20, T, 2), LongDocPolicy.SPLIT, 0)) {
      CoderProperties.coderDecodeEncodeEqual(PackedBlockCoder.of(), b);
      CoderProperties.coderDeterministic(PackedBlockCoder.of(), b, b);
    }
  }

  private static List<PackedBlock> pack(List<TokenizedDoc> docs, LongDocPolicy p, long seed) {
    List<PackedBlock> out = new ArrayList<>();
    new BlockPacker(T, p, seed, 0).pack(docs, out::add);
    return out;
  }
}
