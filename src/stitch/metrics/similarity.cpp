#include "stitch/metrics/similarity.h"

#include <ATen/ATen.h>

#include <cmath>

#include <fmt/format.h>

#include "stitch/stitchers/fit.h"
#include "stitch/util/error.h"

namespace stitch {

namespace {
constexpr int64_t kMaxGramRows = 25000;  // a 25k x 25k float64 Gram is 5 GB

void check_pair(const Representation& a, const Representation& b, const char* what, int64_t min_n) {
  if (a.n() != b.n())
    throw StitchError(fmt::format("{}: {} has {} rows but {} has {}; rows must be the same inputs",
                                  what, a.name(), a.n(), b.name(), b.n()));
  if (a.n() < min_n)
    throw StitchError(fmt::format("{}: needs at least {} samples, got {}", what, min_n, a.n()));
}

void check_gram_rows(int64_t n, const std::string& name) {
  if (n > kMaxGramRows)
    throw StitchError(fmt::format(
        "{}: {} rows need a {}x{} Gram matrix ({:.1f} GB); use at most {} samples (or pool "
        "tokens instead of treating them as rows)",
        name, n, n, n, 8.0 * static_cast<double>(n) * static_cast<double>(n) / 1e9, kMaxGramRows));
}

// HSIC_1 (Song et al.) from tr(K~ L~), the sums 1^T K~ 1, 1^T L~ 1 and 1^T K~ L~ 1.
double hsic_formula(int64_t n, double tr, double sk, double sl, double cross) {
  const double nn = static_cast<double>(n);
  return (tr + sk * sl / ((nn - 1) * (nn - 2)) - 2.0 / (nn - 2) * cross) / (nn * (nn - 3));
}

// <K, L>_F of two Grams of the same n, as one dot product (no n x n temporary).
double gram_dot(const Representation::Gram& k, const Representation::Gram& l) {
  return k.k.reshape({-1}).dot(l.k.reshape({-1})).item<double>();
}

// HSIC_1 of two symmetric Grams from their kept sums and <K, L>_F.
double hsic_pair(const Representation::Gram& k, const Representation::Gram& l, double dot) {
  const double tr = dot - k.diag.dot(l.diag).item<double>();
  return hsic_formula(k.k.size(0), tr, k.total, l.total, k.row.dot(l.row).item<double>());
}

Representation::Gram gram_of(const at::Tensor& xc) {
  Representation::Gram g;
  g.k = xc.mm(xc.t());
  g.diag = g.k.diagonal().clone();
  g.row = g.k.sum(1) - g.diag;
  g.total = g.row.sum().item<double>();
  g.norm = g.k.norm().item<double>();
  if (xc.size(0) >= 4) g.hsic1 = hsic_pair(g, g, g.norm * g.norm);
  return g;
}

// Columns of U whose singular value is above the rank tolerance of an m x p matrix.
int64_t rank_of(const at::Tensor& s, int64_t m, int64_t p) {
  if (s.numel() == 0) return 0;
  const double tol = s.max().item<double>() * 1e-10 * static_cast<double>(std::max(m, p));
  return s.gt(tol).sum().item<int64_t>();
}

at::Tensor topk_index(const at::Tensor& gram, int64_t k) {
  at::Tensor g = gram.clone();
  g.fill_diagonal_(-INFINITY);
  return std::get<1>(g.topk(k, 1));
}

at::Tensor knn_prepare(const at::Tensor& a, const std::string& name) {
  // Clamp to +-q, q = mean over samples of each sample's 95th percentile of |feature|.
  const double q = at::quantile(a.abs(), 0.95, 1).mean().item<double>();
  at::Tensor c = a.clamp(-q, q);
  at::Tensor norm = c.norm(2, 1, true);
  if (norm.eq(0).any().item<bool>())
    throw StitchError(
        fmt::format("k-NN metrics: a sample of {} has an all-zero representation, which cannot "
                    "be L2-normalised",
                    name));
  return c / norm;
}

void check_k(const Representation& r, int64_t lo, const char* what) {
  const int64_t k = r.options().k;
  if (k < lo || k >= r.n())
    throw StitchError(
        fmt::format("{}: k must be in [{}, n-1] = [{}, {}], got {}", what, lo, lo, r.n() - 1, k));
}
}  // namespace

Representation::Representation(const at::Tensor& x, SimilarityOptions o, std::string name)
    : o_(o), name_(std::move(name)) {
  if (x.dim() != 2)
    throw StitchError(fmt::format("{} must be 2-D [n, features], got {} dims", name_, x.dim()));
  if (x.size(0) == 0) throw StitchError(fmt::format("{} has no rows (no samples)", name_));
  x_ = x;
  // Checks by reductions only (no n x p temporaries): a NaN or Inf anywhere makes the sum of
  // the column means non-finite (float32 values cannot overflow a float64 sum).
  const at::Tensor xd = x.to(at::kDouble), mean = xd.mean(0);
  if (!std::isfinite(mean.sum().item<double>()))
    throw StitchError(fmt::format(
        "{} has NaN or Inf values; the similarity is undefined (check the model's numerics "
        "there)",
        name_));
  xc_ = xd - mean;
  constant_ = xc_.numel() == 0 || xc_.norm().item<double>() == 0.0;
}

void Representation::require_variance(const char* what) const {
  if (constant_)
    throw StitchError(
        fmt::format("{}: {} has zero variance (every sample is identical); the metric is undefined",
                    what, name_));
}

const Representation::Gram& Representation::gram() const {
  if (!gram_.k.defined()) {
    check_gram_rows(n(), name_);
    gram_ = gram_of(xc_);
  }
  return gram_;
}

const std::vector<Representation::Gram>& Representation::batch_grams() const {
  const int64_t b = o_.minibatch;
  if (b < 4) throw StitchError(fmt::format("minibatch CKA: batch must be >= 4, got {}", b));
  if (b > kMaxGramRows)
    throw StitchError(fmt::format(
        "minibatch CKA: batches of {} rows of {} need {}x{} Grams; use a smaller batch (at most "
        "{} rows)",
        b, name_, b, b, kMaxGramRows));
  if (batch_grams_.empty())
    for (int64_t s = 0; s + b <= n(); s += b) batch_grams_.push_back(gram_of(xc_.narrow(0, s, b)));
  return batch_grams_;
}

double Representation::cov_norm() const {
  if (cov_norm_ < 0)
    cov_norm_ = n() <= features() ? gram().norm : xc_.t().mm(xc_).norm().item<double>();
  return cov_norm_;
}

void Representation::svd_() const {
  if (u_.defined()) return;
  std::tie(u_, s_, vh_) = at::linalg_svd(xc_, false);
}

const at::Tensor& Representation::svcca_basis() const {
  if (!svcca_basis_.defined()) {
    require_variance("SVCCA");
    svd_();
    int64_t keep = o_.svcca_dims;
    if (keep <= 0) {
      at::Tensor frac = (s_ * s_).cumsum(0) / (s_ * s_).sum();
      keep = frac.lt(o_.svcca_variance - 1e-12).sum().item<int64_t>() + 1;
    }
    keep = std::min<int64_t>(keep, s_.size(0));
    svcca_basis_ = u_.narrow(1, 0, rank_of(s_.narrow(0, 0, keep), n(), keep));
  }
  return svcca_basis_;
}

const at::Tensor& Representation::basis() const {
  if (!basis_.defined()) {
    svd_();
    basis_ = u_.narrow(1, 0, rank_of(s_, n(), features()));
  }
  return basis_;
}

const at::Tensor& Representation::basis_t_x() const {
  if (!basis_t_x_.defined()) {
    const int64_t r = basis().size(1);  // Q^T Xc = S_r V_r^T for Xc = U S V^T
    basis_t_x_ = s_.narrow(0, 0, r).unsqueeze(1) * vh_.narrow(0, 0, r);
  }
  return basis_t_x_;
}

const at::Tensor& Representation::knn() const {
  if (!knn_.defined()) {
    check_k(*this, 1, "mutual k-NN");
    check_gram_rows(n(), name_);
    at::Tensor a = knn_prepare(x(), name_);
    knn_ = topk_index(a.mm(a.t()), o_.k);
  }
  return knn_;
}

const at::Tensor& Representation::cknna_gram() const {
  if (!cknna_gram_.defined()) {
    check_gram_rows(n(), name_);
    const at::Tensor f = o_.cknna_features == "raw" ? x() : knn_prepare(x(), name_);
    cknna_gram_ = f.mm(f.t());
  }
  return cknna_gram_;
}

const at::Tensor& Representation::cknna_mask() const {
  if (!cknna_mask_.defined()) {
    check_k(*this, 2, "CKNNA");
    cknna_mask_ = at::zeros_like(cknna_gram()).scatter_(1, topk_index(cknna_gram(), o_.k), 1.0);
  }
  return cknna_mask_;
}

double Representation::cknna_self() const {
  if (cknna_self_ < 0) {
    at::Tensor mk = cknna_mask() * cknna_gram();
    cknna_self_ = hsic_unbiased(mk, mk);
    if (cknna_self_ <= 0)
      throw StitchError(fmt::format(
          "CKNNA: {} has no variance among its nearest neighbours; the metric is undefined",
          name_));
  }
  return cknna_self_;
}

double linear_cka(const Representation& a, const Representation& b) {
  check_pair(a, b, "linear CKA", 2);
  a.require_variance("linear CKA");
  b.require_variance("linear CKA");
  // <Xc Xc^T, Yc Yc^T>_F = ||Yc^T Xc||_F^2: n^2 per pair from kept Grams when n is below the
  // feature count (the Grams are then cheaper to build than Xc^T Xc), else n p q directly.
  const bool by_gram = a.n() <= std::max(a.features(), b.features());
  const double num = by_gram ? gram_dot(a.gram(), b.gram())
                             : b.centred().t().mm(a.centred()).pow(2).sum().item<double>();
  return num / (a.cov_norm() * b.cov_norm());
}

double unbiased_cka(const Representation& a, const Representation& b) {
  check_pair(a, b, "unbiased CKA", 4);
  // HSIC_1 is unchanged by shifting the features, so the centred Grams serve (and are exact
  // to more digits than X X^T of uncentred post-ReLU activations).
  const Representation::Gram &k = a.gram(), &l = b.gram();
  if (k.hsic1 <= 0 || l.hsic1 <= 0)
    throw StitchError(
        "unbiased CKA: a representation has no (unbiased) variance; the metric is undefined");
  return hsic_pair(k, l, gram_dot(k, l)) / std::sqrt(k.hsic1 * l.hsic1);
}

double minibatch_cka(const Representation& a, const Representation& b) {
  check_pair(a, b, "minibatch CKA", 4);
  const auto &ka = a.batch_grams(), &kb = b.batch_grams();
  if (ka.empty())
    throw StitchError(
        fmt::format("minibatch CKA: {} samples are less than one batch of {}; use fewer per batch",
                    a.n(), a.options().minibatch));
  MinibatchCka m;
  for (size_t i = 0; i < ka.size(); ++i) m.add(ka[i], kb[i]);
  return m.value();
}

double svcca(const Representation& a, const Representation& b) {
  check_pair(a, b, "SVCCA", 2);
  // As for PWCCA: with r_x + r_y >= n - 1 kept directions CCA finds perfect correlations by
  // construction, and close to that bound it is biased towards 1.
  const int64_t rx = a.svcca_basis().size(1), ry = b.svcca_basis().size(1);
  if (rx + ry >= a.n() - 1)
    throw StitchError(fmt::format(
        "SVCCA: {} + {} kept directions need to be below n - 1 = {} samples for CCA to be "
        "meaningful; use more samples or keep fewer directions (svcca.dims)",
        rx, ry, a.n() - 1));
  at::Tensor rho = at::linalg_svdvals(a.svcca_basis().t().mm(b.svcca_basis()));
  return rho.clamp(0.0, 1.0).mean().item<double>();
}

double pwcca(const Representation& a, const Representation& b) {
  check_pair(a, b, "PWCCA", 2);
  a.require_variance("PWCCA");
  b.require_variance("PWCCA");
  const at::Tensor &qx = a.basis(), &qy = b.basis();
  // With as many independent directions as centred samples (n - 1), every direction of the
  // sample space is available to CCA and all correlations are 1: the value means nothing.
  if (qx.size(1) + qy.size(1) >= a.n() - 1)
    throw StitchError(fmt::format(
        "PWCCA: rank(X) + rank(Y) = {} needs to be below n - 1 = {} samples for CCA to be "
        "meaningful; use more samples (about 2x the feature count) or SVCCA",
        qx.size(1) + qy.size(1), a.n() - 1));
  auto [U, S, Vh] = at::linalg_svd(qx.t().mm(qy), false);
  // Canonical variates of X are H = Qx U; alpha_i = sum_j |<h_i, x_j>| = |U^T Qx^T Xc|.sum(1).
  at::Tensor alpha = U.t().mm(a.basis_t_x()).abs().sum(1);
  alpha = alpha / alpha.sum();
  return (alpha * S.clamp(0.0, 1.0)).sum().item<double>();
}

double mutual_knn(const Representation& a, const Representation& b) {
  check_pair(a, b, "mutual k-NN", 2);
  const at::Tensor &ia = a.knn(), &ib = b.knn();
  if (ia.size(1) != ib.size(1))
    throw StitchError("mutual k-NN: both representations need the same k");
  // Each row holds k distinct indices, so |N_X(i) ∩ N_Y(i)| counts equal index pairs.
  const double shared = ia.unsqueeze(2).eq(ib.unsqueeze(1)).sum().item<double>();
  return shared / static_cast<double>(a.n() * ia.size(1));
}

double cknna(const Representation& a, const Representation& b) {
  check_pair(a, b, "CKNNA", 4);
  const double kk = a.cknna_self(), ll = b.cknna_self();
  if (a.options().cknna_features != b.options().cknna_features)
    throw StitchError("CKNNA: both representations need the same cknna_features");
  at::Tensor m = a.cknna_mask() * b.cknna_mask();
  const double eps = a.options().cknna_features == "raw" ? 0.0 : 1e-6;  // as measure_alignment.py
  return hsic_unbiased(m * a.cknna_gram(), m * b.cknna_gram()) / (std::sqrt(kk * ll) + eps);
}

double linear_cka(const at::Tensor& x, const at::Tensor& y) {
  return linear_cka(Representation(x), Representation(y, {}, "Y"));
}

double unbiased_cka(const at::Tensor& x, const at::Tensor& y) {
  return unbiased_cka(Representation(x), Representation(y, {}, "Y"));
}

double hsic_unbiased(const at::Tensor& k, const at::Tensor& l) {
  const int64_t n = k.size(0);
  if (n < 4) throw StitchError(fmt::format("unbiased HSIC needs n >= 4 samples, got {}", n));
  at::Tensor K = k.to(at::kDouble).clone(), L = l.to(at::kDouble).clone();
  K.fill_diagonal_(0.0);
  L.fill_diagonal_(0.0);
  const double tr = (K * L.t()).sum().item<double>();  // tr(K L); masked Grams are not symmetric
  const double cross = K.sum(0).dot(L.sum(1)).item<double>();  // 1^T K L 1
  return hsic_formula(n, tr, K.sum().item<double>(), L.sum().item<double>(), cross);
}

void MinibatchCka::add(const at::Tensor& x, const at::Tensor& y) {
  add(Representation(x), Representation(y, {}, "Y"));
}

void MinibatchCka::add(const Representation& x, const Representation& y) {
  check_pair(x, y, "minibatch CKA", 4);
  add(x.gram(), y.gram());
}

void MinibatchCka::add(const Representation::Gram& k, const Representation::Gram& l) {
  kl_ += hsic_pair(k, l, gram_dot(k, l));
  kk_ += k.hsic1;
  ll_ += l.hsic1;
  ++batches_;
}

double MinibatchCka::value() const {
  if (batches_ == 0) throw StitchError("minibatch CKA: no batches were added");
  if (kk_ <= 0 || ll_ <= 0)
    throw StitchError("minibatch CKA: a representation has no variance over the batches");
  return kl_ / std::sqrt(kk_ * ll_);
}

double svcca(const at::Tensor& x, const at::Tensor& y, double variance, int64_t dims) {
  const SimilarityOptions o{variance, dims};
  return svcca(Representation(x, o), Representation(y, o, "Y"));
}

double pwcca(const at::Tensor& x, const at::Tensor& y) {
  return pwcca(Representation(x), Representation(y, {}, "Y"));
}

double mutual_knn(const at::Tensor& x, const at::Tensor& y, int64_t k) {
  SimilarityOptions o;
  o.k = k;
  return mutual_knn(Representation(x, o), Representation(y, o, "Y"));
}

double cknna(const at::Tensor& x, const at::Tensor& y, int64_t k, const std::string& features) {
  SimilarityOptions o;
  o.k = k;
  o.cknna_features = features;
  return cknna(Representation(x, o), Representation(y, o, "Y"));
}

double cross_nuclear_norm(const at::Tensor& a, const at::Tensor& b) {
  const int64_t n = a.size(0);
  // a^T = Qa Ra and b^T = Qb Rb (reduced QR, Ra, Rb [n, n]) when wider than n: a^T b =
  // Qa (Ra Rb^T) Qb^T has the singular values of the small middle factor.
  const at::Tensor left = a.size(1) > n ? std::get<1>(at::linalg_qr(a.t(), "r")) : a.t();
  const at::Tensor right = b.size(1) > n ? std::get<1>(at::linalg_qr(b.t(), "r")).t() : b;
  return at::linalg_svdvals(left.mm(right)).sum().item<double>();
}

ProcrustesStats procrustes_stats(const at::Tensor& x_fit, const at::Tensor& y_fit,
                                 const at::Tensor& x_test, const at::Tensor& y_test) {
  const Representation fx(x_fit, {}, "X (fit)"), fy(y_fit, {}, "Y (fit)");
  const Representation tx(x_test, {}, "X (held-out)"), ty(y_test, {}, "Y (held-out)");
  check_pair(fx, fy, "Procrustes", 2);
  check_pair(tx, ty, "Procrustes (held-out)", 2);
  const at::Tensor Xf = fx.x(), Yf = fy.x(), Xt = tx.x(), Yt = ty.x();
  const Procrustes p = fit_procrustes(Xf, Yf, true, false, false);
  ProcrustesStats s;
  auto rel = [&](const at::Tensor& X, const at::Tensor& Y) {
    at::Tensor Yc = Y - p.mean_y;
    return ((X - p.mean_x).mm(p.rotation) - Yc).norm().item<double>() / Yc.norm().item<double>();
  };
  s.rel_error_fit = rel(Xf, Yf);
  s.rel_error_test = rel(Xt, Yt);
  const double var = ty.centred().pow(2).sum().item<double>();
  at::Tensor aligned = (Xt - p.mean_x).mm(p.rotation) + p.mean_y;
  s.ev_after = 1.0 - (Yt - aligned).pow(2).sum().item<double>() / var;
  if (Xt.size(1) == Yt.size(1)) s.ev_before = 1.0 - (Yt - Xt).pow(2).sum().item<double>() / var;
  const Affine af = fit_lstsq(Xf, Yf);
  s.ev_affine = 1.0 - (Yt - Xt.mm(af.weight.t()) - af.bias).pow(2).sum().item<double>() / var;
  at::Tensor xc = fx.centred() / fx.centred().norm(), yc = fy.centred() / fy.centred().norm();
  s.distance = 2.0 - 2.0 * cross_nuclear_norm(xc, yc);
  if (Xf.size(1) == Yf.size(1)) {
    const int64_t d = Xf.size(1);
    // sign * exp(log|det|): a plain LU product underflows to 0 for wide maps (d in the
    // thousands) although |det R| = 1.
    const auto [sign, logabs] = at::linalg_slogdet(p.rotation);
    s.det = sign.item<double>() * std::exp(logabs.item<double>());
    s.r_minus_i = (p.rotation - at::eye(d, p.rotation.options())).norm().item<double>();
    s.sqrt_2d = std::sqrt(2.0 * static_cast<double>(d));
  }
  return s;
}

}  // namespace stitch
