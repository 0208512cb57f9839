package dev.lorabeam.pipeline.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child process run under {@code /usr/bin/time -v}: its wall time, its peak resident set size
 * (the kernel's maximum RSS of the process and its waited-for children) and its output, kept in a log
 * file whose path is printed so a failed side can be read whole.
 */
record TimedProcess(double wallSecs, long peakRssBytes, String output, Path log) {
  private static final Pattern MAX_RSS = Pattern.compile("Maximum resident set size \\(kbytes\\): (\\d+)");
  private static final Path TIME = Path.of("/usr/bin/time");

  static TimedProcess run(List<String> command, Path workDir, Map<String, String> env, Path log, long timeoutMin)
      throws IOException, InterruptedException {
    if (!Files.isExecutable(TIME)) {
      throw new IllegalStateException(TIME + " (GNU time) is needed to measure peak RSS; install the `time` package");
    }
    List<String> argv = new ArrayList<>(List.of(TIME.toString(), "-v"));
    argv.addAll(command);
    ProcessBuilder builder = new ProcessBuilder(argv).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().putAll(env);
    long start = System.nanoTime();
    Process p = builder.start();
    p.getOutputStream().close();
    if (!p.waitFor(timeoutMin, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " ran longer than " + timeoutMin + " min; log: " + log);
    }
    double wall = (System.nanoTime() - start) / 1e9;
    String out = Files.readString(log, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + "; log: " + log
          + "\n" + tail(out, 3000));
    }
    Matcher m = MAX_RSS.matcher(out);
    long rss = -1;
    while (m.find()) {
      rss = Long.parseLong(m.group(1)) * 1024;
    }
    if (rss < 0) {
      throw new IllegalStateException("no \"Maximum resident set size\" line from " + TIME + " in " + log);
    }
    return new TimedProcess(wall, rss, out, log);
  }

  static String tail(String text, int chars) {
    return text.length() <= chars ? text : "…" + text.substring(text.length() - chars);
  }
}
