package dev.lorabeam.pipeline.memory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

/** The process RSS the metrics report: parsed from /proc, and it sees memory the process touches. */
public class ProcessMemoryTest {

  @Test
  public void vmRssLineIsReadInKibibytes() {
    List<String> status = List.of("Name:\tjava", "VmPeak:\t 9000000 kB", "VmRSS:\t  123456 kB", "RssAnon:\t 1 kB");
    assertEquals(123456L * 1024, ProcessMemory.vmRssBytes(status));
    assertThrows(IllegalArgumentException.class, () -> ProcessMemory.vmRssBytes(List.of("Name:\tjava")));
  }

  @Test
  public void residentSetGrowsWhenTheProcessTouches256MegabytesOffHeap() {
    long before = ProcessMemory.residentBytes();
    java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(256 << 20);
    for (int i = 0; i < block.capacity(); i += 4096) {
      block.put(i, (byte) 1);  // touch every page so the OS backs it
    }
    long after = ProcessMemory.residentBytes();
    System.out.printf("rss: %.1f MB before, %.1f MB after touching 256 MB%n", before / 1e6, after / 1e6);
    assertTrue("rss is known: " + before, before > 0);
    assertTrue("rss grew by " + (after - before) + " bytes", after - before >= 200L << 20);
    assertEquals(1, block.get(4096));
  }
}
