package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertArrayEquals;

import org.junit.Test;

/** What generate and the demo print: the reply without the end-of-turn token the engine stopped after. */
public class GenerateCommandTest {

  @Test
  public void theStopTokenIsNotPartOfTheReply() {
    assertArrayEquals(new int[] {5, 6}, GenerateCommand.withoutStop(new int[] {5, 6, 2}, 2));
  }

  @Test
  public void aReplyCutByMaxTokensKeepsItsLastToken() {
    assertArrayEquals(new int[] {5, 6, 7}, GenerateCommand.withoutStop(new int[] {5, 6, 7}, 2));
    assertArrayEquals(new int[] {}, GenerateCommand.withoutStop(new int[] {}, 2));
  }
}
