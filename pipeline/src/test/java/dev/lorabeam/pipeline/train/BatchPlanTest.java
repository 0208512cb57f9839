package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.util.Arrays;
import org.junit.Test;

public class BatchPlanTest {

  @Test
  public void everyBlockIsTrainedOncePerEpochAndTheLastStepWrapsToTheEpochsStart() {
    BatchPlan plan = new BatchPlan(10, 4, 7, 6);
    assertEquals(3, plan.stepsPerEpoch());
    for (int epoch = 0; epoch < 2; epoch++) {
      int[] perm = plan.permutation(epoch);
      int[] seen = new int[10];
      for (long step = epoch * 3L; step < epoch * 3L + 3; step++) {
        assertEquals(epoch, plan.epochOf(step));
        for (long row : plan.rows(step, perm)) {
          seen[(int) row]++;
        }
      }
      // 12 rows for 10 blocks: the epoch's first two blocks come again to fill the last step.
      int[] expected = new int[10];
      Arrays.fill(expected, 1);
      expected[perm[0]]++;
      expected[perm[1]]++;
      assertArrayEquals("epoch " + epoch, expected, seen);
    }
  }

  @Test
  public void theOrderIsSeededAndIndependentOfHowManyStepsRun() {
    BatchPlan short_ = new BatchPlan(1000, 2, 5, 10);
    BatchPlan long_ = new BatchPlan(1000, 2, 5, 5000);
    assertArrayEquals(short_.rows(7, short_.permutation(0)), long_.rows(7, long_.permutation(0)));
    assertFalse("another epoch, another order", Arrays.equals(long_.permutation(0), long_.permutation(1)));
    BatchPlan otherSeed = new BatchPlan(1000, 2, 6, 10);
    assertFalse(Arrays.equals(short_.permutation(0), otherSeed.permutation(0)));
    int[] sorted = long_.permutation(3).clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      assertEquals("a permutation of 0…999", i, sorted[i]);
    }
  }

  @Test
  public void maxStepsOrEpochsSayHowManyStepsRun() {
    TrainConfig byEpochs = TrainConfig.builder("m", "d").batchSize(2).gradAccumulation(2).epochs(3).build();
    assertEquals("3 epochs of ceil(10 / 4) steps", 9, BatchPlan.of(10, byEpochs).totalSteps());
    assertEquals(4, BatchPlan.of(10, byEpochs).rowsPerStep());
    assertEquals(5, BatchPlan.of(10, byEpochs.toBuilder().maxSteps(5).build()).totalSteps());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchPlan.of(0, byEpochs));
    assertEquals("the training data produced no blocks: check --data", e.getMessage());
  }
}
