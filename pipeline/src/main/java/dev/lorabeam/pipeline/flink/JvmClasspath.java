package dev.lorabeam.pipeline.flink;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The classpath a plain {@code java -cp} JVM needs to run what this JVM runs. Under
 * {@code mvn exec:java} {@code java.class.path} is only Maven's launcher; the project's classes
 * and dependencies live in the URLs of exec's own class loader, so those are asked first.
 */
public final class JvmClasspath {

  private JvmClasspath() {}

  /** The entries seen from {@code loader}: its URL class loaders' URLs, else {@code java.class.path}. */
  public static List<String> of(ClassLoader loader) {
    Set<String> entries = new LinkedHashSet<>();
    // Parents first: that is the order in which a class loader delegates.
    List<URLClassLoader> chain = new ArrayList<>();
    for (ClassLoader l = loader; l != null; l = l.getParent()) {
      if (l instanceof URLClassLoader u) {
        chain.add(0, u);
      }
    }
    for (URLClassLoader u : chain) {
      for (URL url : u.getURLs()) {
        entries.add(toPath(url));
      }
    }
    if (entries.isEmpty()) {
      for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
        if (!e.isBlank()) {
          entries.add(e);
        }
      }
    }
    if (entries.isEmpty()) {
      throw new IllegalStateException("cannot tell this JVM's classpath (no URL class loader and "
          + "an empty java.class.path); run with java -cp CLASSPATH instead");
    }
    return List.copyOf(entries);
  }

  /** {@link #of} joined with the platform's path separator, for {@code java -cp}. */
  public static String joined(ClassLoader loader) {
    return String.join(File.pathSeparator, of(loader));
  }

  /** The {@code java} launcher of the running JVM. */
  public static String javaLauncher() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String toPath(URL url) {
    try {
      return Path.of(url.toURI()).toString();
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw new IllegalStateException("classpath entry " + url + " is not a local file", e);
    }
  }
}
