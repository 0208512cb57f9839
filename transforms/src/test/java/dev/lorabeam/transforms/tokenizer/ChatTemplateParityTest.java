package dev.lorabeam.transforms.tokenizer;

import static org.junit.Assert.assertEquals;

import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.TestFiles;
import java.nio.file.Files;
import java.util.List;
import org.junit.Test;

/**
 * Jinjava renders a template full of the constructs Hugging Face templates use exactly as
 * transformers' Jinja sandbox does. Expected strings: transforms/src/test/python/
 * template_parity_reference.py (transformers 5.24 apply_chat_template, tokenize=False) on the
 * template in template_parity_reference.jinja.
 */
public class ChatTemplateParityTest {
  private static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": "
      + "\"get_weather\", \"description\": \"Weather now\", \"parameters\": {\"type\": \"object\", "
      + "\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}]";
  private static final List<Message> MESSAGES = List.of(
      new Message("system", "  Be brief.  "),
      new Message("user", "Weather in Paris? Use \"tools\"."),
      new Message("assistant", "Sunny — 21°C."));

  private static final String EXPECTED = "<|begin_of_text|><tools year-digits=\"4\">"
      + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
      + "\"Weather now\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": "
      + "{\"type\": \"string\"}}, \"required\": [\"city\"]}}}{\n  \"type\": \"function\",\n  "
      + "\"function\": {\n    \"name\": \"get_weather\",\n    \"description\": \"Weather now\",\n"
      + "    \"parameters\": {\n      \"type\": \"object\",\n      \"properties\": {\n        "
      + "\"city\": {\n          \"type\": \"string\"\n        }\n      },\n      \"required\": [\n"
      + "        \"city\"\n      ]\n    }\n  }\n}\n</tools><|system|>Be brief.\n"
      + "<|user|>Weather in Paris? Use \"tools\".\n<|assistant|>Sunny — 21°C.#2\n";

  private static ChatTemplate template() throws Exception {
    String source = Files.readString(TestFiles.repoRoot()
        .resolve("transforms/src/test/python/template_parity_reference.jinja"));
    return new ChatTemplate(source, "<|begin_of_text|>", "<|eot_id|>");
  }

  @Test
  public void rendersLikeTransformers() throws Exception {
    assertEquals(EXPECTED, template().render(MESSAGES, TOOLS, false));
  }

  @Test
  public void generationPromptLikeTransformers() throws Exception {
    assertEquals(EXPECTED + "<|assistant|>", template().render(MESSAGES, TOOLS, true));
  }

  /** Python: json.dumps({"a": [1, 2.5, 1.0, True, None], "b": "é\n"}, ensure_ascii=False). */
  @Test
  public void toJsonMatchesPythonJsonDumps() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("a", java.util.Arrays.asList(1, 2.5, 1.0, true, null));
    m.put("b", "é\n");
    assertEquals("{\"a\": [1, 2.5, 1.0, true, null], \"b\": \"é\\n\"}", PythonJson.dumps(m, -1));
    assertEquals("[\n  {}\n]", PythonJson.dumps(List.of(java.util.Map.of()), 2));
  }
}
