#pragma once
// The dashboard's files (http/web/), compiled into the binary by cmake/embed_files.cmake.
#include <cstddef>

namespace gantry::http {

struct embedded_file {
  const char* path;  // "/index.html"; null ends the table
  const unsigned char* data;
  size_t size;
};

extern const embedded_file kEmbeddedFiles[];

}  // namespace gantry::http
