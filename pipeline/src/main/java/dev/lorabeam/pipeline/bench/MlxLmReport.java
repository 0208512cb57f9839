package dev.lorabeam.pipeline.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code mlx_lm.lora} printed: its last training report (tokens/s over the report window,
 * trained tokens) and its last validation loss. mlx-lm ≤ 0.31 prints
 * {@code Iter 10: Train loss 2.1, Learning Rate 1e-05, It/sec 0.1, Tokens/sec 95.2, Trained Tokens 4096, Peak mem 1.4 GB}
 * and {@code Iter 10: Val loss 2.0, Val took 3.1s}; 0.32 prints a table instead:
 * {@code   10    2.100 ▼       95     4.1k} and {@code   10    val 2.000    3.10s} (tokens rounded to 0.1k).
 * mlx-lm validates before iteration 1 and before its last; {@code valSecs} sums what every validation took
 * and {@code validations} counts them, so a reader can see what the peer spent outside training.
 */
record MlxLmReport(double tokensPerSec, long trainedTokens, double valLoss, double peakMemGb, int validations,
    double valSecs) {
  private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;?]*[A-Za-z]");
  private static final Pattern OLD_TRAIN = Pattern.compile(
      "Iter (\\d+): Train loss [-\\d.eE+]+, Learning Rate [^,]+, It/sec [-\\d.eE+]+, Tokens/sec ([\\d.]+), "
          + "Trained Tokens (\\d+), Peak mem ([\\d.]+) GB");
  private static final Pattern OLD_VAL = Pattern.compile("Iter (\\d+): Val loss ([-\\d.eE+]+), Val took ([\\d.]+)s");
  private static final Pattern TABLE_TRAIN = Pattern.compile(
      "(?m)^\\s*(\\d+)\\s+([-\\d.]+)\\s+[▼▲]\\s+([\\d,]+)\\s+([\\d.]+)k\\s*$");
  private static final Pattern TABLE_VAL = Pattern.compile("(?m)^\\s*(\\d+)\\s+val\\s+([-\\d.]+)\\s+([\\d.]+)s\\s*$");

  static MlxLmReport parse(String output) {
    String text = ANSI.matcher(output).replaceAll("").replace('\r', '\n');
    double rate = Double.NaN;
    double peak = Double.NaN;
    long tokens = -1;
    Matcher m = OLD_TRAIN.matcher(text);
    while (m.find()) {
      rate = Double.parseDouble(m.group(2));
      tokens = Long.parseLong(m.group(3));
      peak = Double.parseDouble(m.group(4));
    }
    m = TABLE_TRAIN.matcher(text);
    while (m.find()) {
      rate = Double.parseDouble(m.group(3).replace(",", ""));
      tokens = Math.round(Double.parseDouble(m.group(4)) * 1000);
    }
    double val = Double.NaN;
    int validations = 0;
    double valSecs = 0;
    for (Pattern p : new Pattern[] {OLD_VAL, TABLE_VAL}) {
      m = p.matcher(text);
      while (m.find()) {
        val = Double.parseDouble(m.group(2));
        validations++;
        valSecs += Double.parseDouble(m.group(3));
      }
    }
    if (tokens < 0) {
      throw new IllegalStateException("found no training report of mlx_lm.lora (neither \"Iter N: Train loss …\" "
          + "lines nor its table) in:\n" + TimedProcess.tail(text, 2000));
    }
    return new MlxLmReport(rate, tokens, val, peak, validations, valSecs);
  }
}
