package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The demo's before/after lines carry both numbers, the relative change and both replies. */
public class DemoSummaryTest {

  @Test
  public void beforeAfterNamesBothLossesAndTheChange() {
    assertEquals("Validation loss, base model → after 24 steps with the adapters: 2.0000 → 0.5000 (-75.0%)",
        DemoSummary.beforeAfter(2.0, 0.5, 24));
  }

  @Test
  public void repliesAreIndentedUnderTheirHeadings() {
    String text = DemoSummary.replies("Q?", "The capital is Bern.", "QUILL> Bern.\nSURE> high");
    assertTrue(text, text.contains("Prompt: Q?"));
    assertTrue(text, text.contains("Without adapters (base model):\n    The capital is Bern."));
    assertTrue(text, text.contains("With the adapters:\n    QUILL> Bern.\n    SURE> high"));
  }
}
