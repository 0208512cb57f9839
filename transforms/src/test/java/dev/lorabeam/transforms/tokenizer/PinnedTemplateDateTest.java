package dev.lorabeam.transforms.tokenizer;

import static org.junit.Assert.assertEquals;

import dev.lorabeam.transforms.read.Example.Message;
import java.time.LocalDate;
import java.util.List;
import org.junit.Test;

/**
 * strftime_now renders the date pinned when the data was prepared, not today (regression: the
 * same rows tokenized differently the next day, so Llama 3.1 data never matched its shards).
 */
public class PinnedTemplateDateTest {
  private static final String TEMPLATE =
      "Today Date: {{ strftime_now('%d %b %Y') }}|{% for m in messages %}{{ m.content }}{% endfor %}";

  @Test
  public void strftimeNowRendersThePinnedDate() {
    ChatTemplate t = ChatTemplate.shared(TEMPLATE, "<s>", "</s>");
    List<Message> messages = List.of(new Message("user", "hi"));
    assertEquals("Today Date: 26 Jul 2024|hi",
        t.render(messages, null, false, LocalDate.of(2024, 7, 26)));
    assertEquals("Today Date: 01 Dec 2026|hi",
        t.render(messages, null, false, LocalDate.of(2026, 12, 1)));
  }
}
