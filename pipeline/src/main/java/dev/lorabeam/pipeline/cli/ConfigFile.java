package dev.lorabeam.pipeline.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * A {@code -c run.yaml} file read as flag values: each key is a flag name written with {@code -}
 * or {@code _} ({@code learning_rate: 1e-5} is {@code --learning-rate 1e-5}), mlx-lm's spellings
 * are translated by {@link MlxLmKeys}, lists become comma-separated values. Values are kept as the
 * text written (YAML 1.1 would read {@code 1e-5} as a string, YAML 1.2 as a float: the flag's own
 * type decides), each with its line, so every later message can point at it.
 */
final class ConfigFile {

  /** One key of the file: as written, the flag it sets (no dashes), its text (null = unset), its line. */
  record Entry(String key, String flag, String value, int line) {
    String where(Path file) {
      return file + " line " + line + " (" + key + ": " + (value == null ? "null" : value) + ")";
    }
  }

  private final Path file;
  private final Map<String, Entry> byFlag;

  private ConfigFile(Path file, Map<String, Entry> byFlag) {
    this.file = file;
    this.byFlag = byFlag;
  }

  Path file() {
    return file;
  }

  /** Every key by the flag it sets, in file order. */
  Map<String, Entry> entries() {
    return byFlag;
  }

  /**
   * Reads {@code file}; a missing file, bad YAML, a top level that is not a mapping, a nested
   * value where a flag takes one value, or a key given twice is a {@link ConfigError}.
   */
  static ConfigFile read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigError("config file " + file + " does not exist; pass -c FILE with a YAML file of flags");
    }
    Optional<Node> root;
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      root = new Compose(LoadSettings.builder().setLabel(file.toString()).build()).composeReader(in);
    } catch (IOException e) {
      throw new ConfigError("cannot read config file " + file + ": " + e.getMessage());
    } catch (YamlEngineException e) {
      throw new ConfigError("config file " + file + " is not valid YAML: " + e.getMessage().strip());
    }
    Map<String, Entry> entries = new LinkedHashMap<>();
    if (root.isEmpty() || isNull(root.get())) {
      return new ConfigFile(file, entries);  // an empty file sets nothing
    }
    if (!(root.get() instanceof MappingNode mapping)) {
      throw new ConfigError(file + " line " + line(root.get())
          + ": a config file is a mapping of flag names to values (e.g. learning_rate: 1e-5)");
    }
    ConfigFile config = new ConfigFile(file, entries);
    config.addAll(mapping, "");
    return config;
  }

  private void addAll(MappingNode mapping, String parent) {
    for (NodeTuple tuple : mapping.getValue()) {
      Node keyNode = tuple.getKeyNode();
      if (!(keyNode instanceof ScalarNode scalarKey)) {
        throw new ConfigError(file + " line " + line(keyNode) + ": keys are flag names, not lists or mappings");
      }
      String key = parent + scalarKey.getValue();
      int line = line(keyNode);
      Node value = tuple.getValueNode();
      if (value instanceof MappingNode nested && MlxLmKeys.isSection(key)) {
        addAll(nested, key + ".");
        continue;
      }
      String text = text(key, value, line);
      if (!MlxLmKeys.isNoOp(key, text)) {
        add(new Entry(key, MlxLmKeys.flagFor(key), text, line));
      }
    }
  }

  private void add(Entry entry) {
    Entry before = byFlag.putIfAbsent(entry.flag(), entry);
    if (before != null) {
      throw new ConfigError(file + " line " + entry.line() + ": " + entry.key() + " sets --" + entry.flag()
          + ", which line " + before.line() + " (" + before.key() + ") already sets; keep one");
    }
  }

  /** A scalar's text, a list's items joined with commas (for split options), null for null. */
  private String text(String key, Node value, int line) {
    if (isNull(value)) {
      return null;
    }
    if (value instanceof ScalarNode scalar) {
      return scalar.getValue();
    }
    if (value instanceof SequenceNode sequence) {
      List<String> items = new ArrayList<>();
      for (Node item : sequence.getValue()) {
        if (!(item instanceof ScalarNode scalar) || scalar.getValue().contains(",")) {
          throw new ConfigError(file + " line " + line(item) + ": " + key
              + " takes a list of plain values (e.g. [q, v])");
        }
        items.add(scalar.getValue());
      }
      return String.join(",", items);
    }
    throw new ConfigError(file + " line " + line + ": " + key + " takes one value or a list, not a mapping"
        + MlxLmKeys.different(key).map(why -> ": " + why).orElse(""));
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  private static int line(Node node) {
    return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
  }

  /** A mistake in the config file; picocli reports it as a usage error (exit code 2). */
  static final class ConfigError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ConfigError(String message) {
      super(message);
    }
  }
}
