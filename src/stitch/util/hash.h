#pragma once
// File hashing for provenance.
#include <string>

namespace stitch {

// Lower-case hex SHA-256 of a file's bytes (OpenSSL); throws StitchError if unreadable.
std::string file_sha256(const std::string& path);

}  // namespace stitch
