// Recursive-descent JSON reader (see json.h).
#include "engine/json.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lorabeam::json {

namespace {

struct Parser {
  const std::string& s;
  const std::string& source;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(source + ": invalid JSON at offset " + std::to_string(i) + ": " + what);
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      i++;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }

  Value value() {
    ws();
    if (i >= s.size()) fail("unexpected end");
    char c = s[i];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') {
      Value v;
      v.kind = Value::String;
      v.string = string();
      return v;
    }
    if (s.compare(i, 4, "true") == 0) return literal(4, Value::Bool, true);
    if (s.compare(i, 5, "false") == 0) return literal(5, Value::Bool, false);
    if (s.compare(i, 4, "null") == 0) return literal(4, Value::Null, false);
    if (s.compare(i, 8, "Infinity") == 0 || s.compare(i, 3, "NaN") == 0) fail("non-finite number");
    return number();
  }
  Value literal(size_t n, Value::Kind kind, bool b) {
    i += n;
    Value v;
    v.kind = kind;
    v.boolean = b;
    return v;
  }
  Value number() {
    const char* start = s.c_str() + i;
    char* end = nullptr;
    double d = std::strtod(start, &end);
    if (end == start) fail("unexpected character '" + std::string(1, s[i]) + "'");
    i += static_cast<size_t>(end - start);
    Value v;
    v.kind = Value::Number;
    v.number = d;
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) fail("unterminated escape");
      char e = s[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': out += unicode(); break;
        default: out += e;
      }
    }
    if (i >= s.size()) fail("unterminated string");
    i++;
    return out;
  }
  std::string unicode() {  // \uXXXX as UTF-8 (surrogate pairs are not needed by config files)
    if (i + 4 > s.size()) fail("short \\u escape");
    unsigned cp = static_cast<unsigned>(std::stoul(s.substr(i, 4), nullptr, 16));
    i += 4;
    std::string out;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
  }
  Value array() {
    expect('[');
    Value v;
    v.kind = Value::Array;
    if (eat(']')) return v;
    do {
      v.items.push_back(value());
    } while (eat(','));
    expect(']');
    return v;
  }
  Value object() {
    expect('{');
    Value v;
    v.kind = Value::Object;
    if (eat('}')) return v;
    do {
      ws();
      std::string key = string();
      expect(':');
      v.fields[key] = value();
    } while (eat(','));
    expect('}');
    return v;
  }
};

}  // namespace

const Value& Value::at(const std::string& key) const {
  auto it = fields.find(key);
  if (kind != Object || it == fields.end()) throw std::runtime_error("missing key \"" + key + "\"");
  return it->second;
}

double Value::num(const std::string& key, double fallback) const {
  if (!has(key) || fields.at(key).kind == Null) return fallback;
  const Value& v = fields.at(key);
  if (v.kind != Number) throw std::runtime_error("key \"" + key + "\" must be a number");
  return v.number;
}

int Value::integer(const std::string& key, int fallback) const {
  return static_cast<int>(num(key, fallback));
}

bool Value::flag(const std::string& key, bool fallback) const {
  if (!has(key) || fields.at(key).kind == Null) return fallback;
  const Value& v = fields.at(key);
  if (v.kind != Bool) throw std::runtime_error("key \"" + key + "\" must be true or false");
  return v.boolean;
}

std::string Value::str(const std::string& key, const std::string& fallback) const {
  if (!has(key) || fields.at(key).kind == Null) return fallback;
  const Value& v = fields.at(key);
  if (v.kind != String) throw std::runtime_error("key \"" + key + "\" must be a string");
  return v.string;
}

Value parse(const std::string& text, const std::string& source) {
  Parser p{text, source};
  Value v = p.value();
  p.ws();
  if (p.i != text.size()) p.fail("trailing characters");
  return v;
}

Value parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace lorabeam::json
