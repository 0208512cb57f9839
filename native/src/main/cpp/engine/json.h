// A small JSON reader for config.json, adapter_config.json and the engine's config string.
// Only what those files need: objects, arrays, strings, numbers, booleans, null.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lorabeam::json {

struct Value {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> items;
  std::map<std::string, Value> fields;

  bool has(const std::string& key) const { return kind == Object && fields.count(key) > 0; }
  const Value& at(const std::string& key) const;  // throws naming the key
  double num(const std::string& key, double fallback) const;
  int integer(const std::string& key, int fallback) const;
  bool flag(const std::string& key, bool fallback) const;
  std::string str(const std::string& key, const std::string& fallback) const;
};

// Parses text; `source` names the file in error messages.
Value parse(const std::string& text, const std::string& source);
Value parse_file(const std::string& path);

// Escapes s as a JSON string literal, quotes included.
std::string quote(const std::string& s);

}  // namespace lorabeam::json
