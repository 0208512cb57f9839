package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.junit.Test;

/** Step metrics travel through Beam (their default coder round-trips) and are stamped with time. */
public class StepMetricsTest {

  @Test
  public void beamFindsACoderThatRoundTripsWithAndWithoutValLoss() throws Exception {
    Coder<StepMetrics> coder = CoderRegistry.createDefault().getCoder(TypeDescriptor.of(StepMetrics.class));
    CoderProperties.coderDecodeEncodeEqual(coder, MetricsWriterTest.metrics(3, 1.5, null));
    CoderProperties.coderDecodeEncodeEqual(coder, MetricsWriterTest.metrics(4, 1.4, 1.45));
  }

  @Test
  public void ofFillsLossCeAndTotalAndAnIsoTimestamp() {
    StepMetrics m = StepMetrics.of(7, 2.25, 2.5, 1e-5, 12.0, 1.2, 2.5, 300, 4096, null);
    assertEquals(2.25, m.loss(), 0);
    assertEquals(2.25, m.ce(), 0);
    assertEquals(2.25, m.total(), 0);
    assertEquals(0, m.distrust(), 0);
    assertNull(m.valLoss());
    assertTrue(Instant.parse(m.timestamp()).isAfter(Instant.parse("2026-01-01T00:00:00Z")));
    assertEquals(Double.valueOf(2.0), m.withValLoss(2.0).valLoss());
  }

  @Test
  public void stepsAreOneBased() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> StepMetrics.of(0, 1, 1, 1e-5, 0, 0, 0, 0, 0, null));
    assertTrue(e.getMessage(), e.getMessage().contains("1-based step (got 0)"));
  }
}
