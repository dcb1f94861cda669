#pragma once
// File hashing for provenance.
#include <cstddef>
#include <string>

namespace stitch {

// Lower-case hex SHA-256 of a file's bytes (OpenSSL); throws StitchError if unreadable.
std::string file_sha256(const std::string& path);
// Lower-case hex SHA-256 of a byte buffer (keys of sweep jobs and store entries).
std::string bytes_sha256(const void* data, size_t size);
inline std::string text_sha256(const std::string& s) {
  return bytes_sha256(s.data(), s.size());
}

}  // namespace stitch
