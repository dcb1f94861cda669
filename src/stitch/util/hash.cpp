#include "stitch/util/hash.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "stitch/util/error.h"

namespace stitch {

namespace {
using Ctx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Ctx sha256_begin() {
  Ctx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  return ctx;
}

std::string sha256_hex(Ctx& ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}
}  // namespace

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StitchError(fmt::format("cannot read '{}' to hash it", path));
  Ctx ctx = sha256_begin();
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  return sha256_hex(ctx);
}

std::string bytes_sha256(const void* data, size_t size) {
  Ctx ctx = sha256_begin();
  EVP_DigestUpdate(ctx.get(), data, size);
  return sha256_hex(ctx);
}

}  // namespace stitch
