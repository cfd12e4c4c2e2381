#include "security/openssl_error.hpp"

#include <openssl/err.h>

namespace gantry::security {

std::string openssl_error() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

}  // namespace gantry::security
