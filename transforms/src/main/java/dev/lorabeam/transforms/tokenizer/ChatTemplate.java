package dev.lorabeam.transforms.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.lorabeam.transforms.read.Example.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Renders Hugging Face chat templates with Jinjava, configured like transformers' sandbox:
 * {@code trim_blocks} and {@code lstrip_blocks} on, Python operator precedence, plus the two
 * functions templates call, {@code raise_exception(msg)} and {@code strftime_now(fmt)}, and a
 * {@code tojson} that writes what Python's {@code json.dumps} writes.
 * Not serializable (Jinjava is not): get one with {@link #shared} in {@code @Setup}.
 */
public final class ChatTemplate {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ThreadLocal<String> RAISED = new ThreadLocal<>();
  /** The date strftime_now renders during one render call (templates call it statically). */
  private static final ThreadLocal<LocalDate> PINNED = new ThreadLocal<>();

  private final Jinjava jinjava;
  private final String template;
  private final Map<String, Object> specials;

  private static final Map<List<String>, ChatTemplate> SHARED =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * One instance per (template, bos, eos) per JVM: building a Jinjava engine costs tens of
   * milliseconds, and runners create many DoFn instances. Rendering is thread-safe (each call
   * gets its own interpreter).
   */
  public static ChatTemplate shared(String template, @Nullable String bosToken,
      @Nullable String eosToken) {
    List<String> key = java.util.Arrays.asList(template, bosToken, eosToken);
    return SHARED.computeIfAbsent(key, k -> new ChatTemplate(template, bosToken, eosToken));
  }

  public ChatTemplate(String template, @Nullable String bosToken, @Nullable String eosToken) {
    this.template = template;
    this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withLegacyOverrides(LegacyOverrides.newBuilder()
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withIterateOverMapKeys(true)
            .withKeepNullableLoopValues(true)
            .build())
        .build());
    jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
        "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
        "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    jinjava.getGlobalContext().registerFilter(new PythonJson());
    Map<String, Object> s = new HashMap<>();
    s.put("bos_token", bosToken == null ? "" : bosToken);
    s.put("eos_token", eosToken == null ? "" : eosToken);
    this.specials = Map.copyOf(s);
  }

  /** Thrown when the template rejects a conversation or fails to render. */
  public static final class TemplateException extends RuntimeException {
    public TemplateException(String message) {
      super(message);
    }
  }

  /**
   * @param toolsJson the row's raw "tools" JSON array, or null
   * @param addGenerationPrompt end with the header that opens the assistant's turn
   */
  public String render(List<Message> messages, @Nullable String toolsJson,
      boolean addGenerationPrompt) {
    return render(messages, toolsJson, addGenerationPrompt, null);
  }

  /**
   * @param date what {@code strftime_now} returns (at 00:00), pinned when the data is prepared so
   *     the same rows tokenize the same way tomorrow; null = today (UTC)
   */
  public String render(List<Message> messages, @Nullable String toolsJson,
      boolean addGenerationPrompt, @Nullable LocalDate date) {
    PINNED.set(date);
    try {
      return renderNow(messages, toolsJson, addGenerationPrompt);
    } finally {
      PINNED.remove();
    }
  }

  private String renderNow(List<Message> messages, @Nullable String toolsJson,
      boolean addGenerationPrompt) {
    RAISED.remove();
    Map<String, Object> vars = new HashMap<>(specials);
    vars.put("messages", messages.stream().map(ChatTemplate::asMap).collect(Collectors.toList()));
    vars.put("tools", parseTools(toolsJson));
    vars.put("add_generation_prompt", addGenerationPrompt);
    RenderResult result = jinjava.renderForResult(template, vars);
    List<String> errors = new ArrayList<>();
    for (TemplateError e : result.getErrors()) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
        errors.add(e.getMessage());
      }
    }
    String raised = RAISED.get();
    RAISED.remove();
    if (raised != null) {
      throw new TemplateException("chat template rejected the conversation: " + raised);
    }
    if (!errors.isEmpty()) {
      throw new TemplateException("chat template failed: " + String.join("; ", errors));
    }
    return result.getOutput();
  }

  private static Map<String, Object> asMap(Message m) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("role", m.role());
    map.put("content", m.content());
    return map;
  }

  private static @Nullable List<Object> parseTools(@Nullable String toolsJson) {
    if (toolsJson == null) {
      return null;
    }
    try {
      return JSON.readValue(toolsJson, new TypeReference<List<Object>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException("tools JSON was validated by the parser", e);
    }
  }

  /**
   * Called by templates to reject a conversation, e.g. roles that do not alternate. Jinjava
   * wraps what functions throw into a generic error, so the message travels in a thread-local.
   */
  public static String raiseException(String message) {
    RAISED.set(message);
    throw new TemplateException("chat template rejected the conversation: " + message);
  }

  /** Python's {@code strftime} for the few codes templates use ("%d %b %Y", "%Y-%m-%d"). */
  public static String strftimeNow(String format) {
    String pattern = format.replace("%Y", "yyyy").replace("%m", "MM").replace("%d", "dd")
        .replace("%b", "MMM").replace("%B", "MMMM").replace("%H", "HH").replace("%M", "mm")
        .replace("%S", "ss").replace("%A", "EEEE").replace("%a", "EEE");
    LocalDate pinned = PINNED.get();
    LocalDateTime at = pinned != null ? pinned.atStartOfDay() : LocalDateTime.now(ZoneOffset.UTC);
    return at.format(DateTimeFormatter.ofPattern(pattern, java.util.Locale.ENGLISH));
  }
}
