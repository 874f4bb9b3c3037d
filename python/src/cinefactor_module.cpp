// cinefactor._core: the nanobind module under the Python package (python/cinefactor/). It calls only the
// library's public API (include/cinefactor/): sparse matrices come in as (indptr, indices, data, shape)
// and are converted once into the engine's RatingMatrix; factors, ids and biases go out as read-only NumPy
// arrays that view the Model's memory and keep it alive; training, fold-in, recommendations and
// evaluations run with the GIL released. The scikit-learn-style layer is pure Python on top.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/progress.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/train.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace cinefactor::python {
namespace {

// A one-dimensional array of any dtype on the CPU, read-only access (NumPy, or anything with DLPack).
using InArray = nb::ndarray<nb::ndim<1>, nb::c_contig, nb::device::cpu, nb::ro>;
// A C-contiguous float32 matrix from Python (initial factors).
using InMatrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

template <typename T>
using View1 = nb::ndarray<nb::numpy, const T, nb::ndim<1>>;
using View2 = nb::ndarray<nb::numpy, const float, nb::ndim<2>>;
using Owned2 = nb::ndarray<nb::numpy, float, nb::ndim<2>>;

PyObject* model_format_error = nullptr;  // cinefactor.ModelFormatError (a ValueError)

// Copies `in` into a vector of Out, converting the dtype on the way (the one copy the engine's owning
// layout needs). Integers must fit Out exactly; floating-point values must be finite.
template <typename Out>
std::vector<Out> convert(const InArray& in, const char* what) {
  std::vector<Out> out(in.shape(0));
  auto copy = [&](const auto* p) {
    using In = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const In v = p[i];
      if constexpr (std::is_floating_point_v<In>) {
        if (!std::isfinite(v)) throw InvalidArgument(std::string(what) + " contains NaN or infinity");
      } else {
        if (static_cast<In>(static_cast<Out>(v)) != v || (v < 0) != (static_cast<Out>(v) < 0))
          throw InvalidArgument(std::string(what) + " holds a value out of range: " + std::to_string(v));
      }
      out[i] = static_cast<Out>(v);
    }
  };
  const nb::dlpack::dtype t = in.dtype();
  if (t == nb::dtype<float>()) {
    copy(static_cast<const float*>(in.data()));
  } else if (t == nb::dtype<double>()) {
    copy(static_cast<const double*>(in.data()));
  } else if (t == nb::dtype<std::int32_t>()) {
    copy(static_cast<const std::int32_t*>(in.data()));
  } else if (t == nb::dtype<std::int64_t>()) {
    copy(static_cast<const std::int64_t*>(in.data()));
  } else {
    throw InvalidArgument(std::string(what) + ": expected float32, float64, int32 or int64 values");
  }
  return out;
}

std::vector<std::int64_t> id_range(std::int64_t n) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = i;
  return ids;
}

// A rating matrix for training: either the engine's own copy of a Python CSR matrix, or a dataset's
// (shared, not copied). Keeps the dataset alive for the catalog.
struct Ratings {
  std::shared_ptr<const RatingMatrix> matrix;
  std::shared_ptr<const Dataset> dataset;  // null for a matrix from arrays
};

Ratings ratings_from_csr(const InArray& indptr, const InArray& indices, const InArray& data,
                         std::int64_t rows, std::int64_t cols, std::optional<InArray> user_ids,
                         std::optional<InArray> movie_ids) {
  constexpr auto kMaxDimension = std::numeric_limits<std::int32_t>::max();
  if (rows < 0 || cols < 0 || rows > kMaxDimension || cols > kMaxDimension) {
    throw InvalidArgument("shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                          ") is out of range (0 to 2^31 - 1 rows and columns)");
  }
  if (indptr.shape(0) != static_cast<std::size_t>(rows) + 1)
    throw InvalidArgument("indptr must have rows + 1 = " + std::to_string(rows + 1) + " entries");
  if (indices.shape(0) != data.shape(0)) throw InvalidArgument("indices and data must have the same length");
  SparseMatrix m;
  m.rows = static_cast<std::int32_t>(rows);
  m.cols = static_cast<std::int32_t>(cols);
  std::vector<std::int64_t> users;
  std::vector<std::int64_t> movies;
  {
    nb::gil_scoped_release release;
    m.indptr = convert<std::int64_t>(indptr, "indptr");
    m.indices = convert<std::int32_t>(indices, "indices");
    m.values = convert<float>(data, "X");
  }
  users = user_ids ? convert<std::int64_t>(*user_ids, "user_ids") : id_range(rows);
  movies = movie_ids ? convert<std::int64_t>(*movie_ids, "movie_ids") : id_range(cols);
  nb::gil_scoped_release release;
  try {
    return {std::make_shared<const RatingMatrix>(
                RatingMatrix::from_csr(std::move(m), {}, std::move(users), std::move(movies))),
            nullptr};
  } catch (const FormatError& e) {
    throw InvalidArgument(std::string("not a valid CSR matrix: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Model

struct PyModel {
  std::shared_ptr<Model> model;
  // Built on first use (precomputation over every movie): visitors on the rating scale, and matrix rows
  // (transform) with any finite value.
  mutable std::once_flag visitor_once;
  mutable std::unique_ptr<Recommender> visitor;
  mutable std::once_flag rows_once;
  mutable std::unique_ptr<Recommender> rows;

  explicit PyModel(Model m) : model(std::make_shared<Model>(std::move(m))) {}

  const Recommender& for_visitors() const {
    std::call_once(visitor_once, [this] { visitor = std::make_unique<Recommender>(model); });
    return *visitor;
  }
  const Recommender& for_rows() const {
    std::call_once(rows_once, [this] {
      RecommenderOptions options;
      options.scale = {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
      rows = std::make_unique<Recommender>(model, options);
    });
    return *rows;
  }
};

// Views of the model's (or dataset's) memory; the bindings return them with rv_policy::reference_internal,
// so each array keeps its Python owner, and through it the memory, alive. An empty vector has no data
// pointer: its view points at a placeholder it never reads.
template <typename T>
const T* data_or_placeholder(const std::vector<T>& v) {
  static const T kPlaceholder{};
  return v.empty() ? &kPlaceholder : v.data();
}
View2 matrix_view(const DenseMatrix& m) {
  return View2(data_or_placeholder(m.data),
               {static_cast<std::size_t>(m.rows), static_cast<std::size_t>(m.cols)}, nb::handle());
}
template <typename T>
View1<T> vector_view(const std::vector<T>& v) {
  return View1<T>(data_or_placeholder(v), {v.size()}, nb::handle());
}
template <typename T>
View1<T> span_view(std::span<const T> s) {
  static const T kPlaceholder{};
  return View1<T>(s.empty() ? &kPlaceholder : s.data(), {s.size()}, nb::handle());
}

nb::object catalog_entry(const CatalogMovie* entry) {
  if (entry == nullptr) return nb::none();
  const Movie& m = entry->movie;
  return nb::make_tuple(m.title, m.year, m.genres, entry->rating_count, entry->rating_mean);
}

Filters make_filters(const std::optional<std::string>& years, std::optional<std::int32_t> year_from,
                     std::optional<std::int32_t> year_to, std::int32_t boundary_year,
                     std::vector<std::string> genres, std::vector<std::string> exclude_genres,
                     std::int32_t min_ratings) {
  Filters f;
  f.boundary_year = boundary_year;
  if (years) parse_years(*years, f);
  if (year_from || year_to) set_year_range(f, year_from, year_to);
  f.genres_any = std::move(genres);
  f.genres_none = std::move(exclude_genres);
  if (min_ratings < 0) throw InvalidArgument("min_ratings must be >= 0, got " + std::to_string(min_ratings));
  f.min_ratings = min_ratings;
  return f;
}

std::vector<VisitorRating> visitor_ratings(const std::vector<std::int64_t>& ids,
                                           const std::vector<double>& r) {
  if (ids.size() != r.size()) throw InvalidArgument("movie ids and ratings must have the same length");
  std::vector<VisitorRating> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) out[i] = {ids[i], static_cast<float>(r[i])};
  return out;
}

nb::list recommendations_to_python(const std::vector<Recommendation>& recs) {
  nb::list out;
  for (const auto& rec : recs) {
    nb::list because;
    for (const auto& c : rec.because) {
      because.append(nb::make_tuple(c.movie_id, catalog_entry(c.movie), c.rating, c.contribution, c.share));
    }
    out.append(nb::make_tuple(rec.movie_id, catalog_entry(rec.movie), rec.score, rec.rating_count, because));
  }
  return out;
}

// Every row of a CSR matrix (columns are the model's movie indices) folded into the model as a visitor,
// in parallel: rows x rank factors.
Owned2 fold_in_rows(const PyModel& self, const InArray& indptr_in, const InArray& indices_in,
                    const InArray& data_in, std::int64_t cols) {
  const Model& m = *self.model;
  if (cols != m.n_movies()) {
    throw InvalidArgument("X has " + std::to_string(cols) + " columns (movies), the model was trained on " +
                          std::to_string(m.n_movies()));
  }
  if (indptr_in.shape(0) == 0) throw InvalidArgument("indptr must not be empty");
  const auto rows = static_cast<std::int64_t>(indptr_in.shape(0)) - 1;
  const auto k = static_cast<std::size_t>(m.rank());
  auto* out = new float[static_cast<std::size_t>(rows) * k];
  nb::capsule owner(out, [](void* p) noexcept { delete[] static_cast<float*>(p); });
  {
    nb::gil_scoped_release release;
    const auto indptr = convert<std::int64_t>(indptr_in, "indptr");
    const auto indices = convert<std::int64_t>(indices_in, "indices");
    const auto data = convert<float>(data_in, "X");
    if (indptr.front() != 0 || indptr.back() != static_cast<std::int64_t>(indices.size()) ||
        indices.size() != data.size())
      throw InvalidArgument("not a valid CSR matrix: indptr does not match indices and data");
    for (std::int64_t r = 0; r < rows; ++r) {
      if (indptr[static_cast<std::size_t>(r)] > indptr[static_cast<std::size_t>(r) + 1])
        throw InvalidArgument("not a valid CSR matrix: indptr decreases at row " + std::to_string(r));
    }
    for (const auto j : indices) {
      if (j < 0 || j >= cols) throw InvalidArgument("not a valid CSR matrix: column index out of range");
    }
    const Recommender& recommender = self.for_rows();
    std::exception_ptr failure;
    std::mutex failure_mutex;
#pragma omp parallel for schedule(dynamic, 16)
    for (std::int64_t r = 0; r < rows; ++r) {
      try {
        std::vector<VisitorRating> visitor;
        for (auto e = indptr[static_cast<std::size_t>(r)]; e < indptr[static_cast<std::size_t>(r) + 1]; ++e) {
          visitor.push_back({m.movie_ids[static_cast<std::size_t>(indices[static_cast<std::size_t>(e)])],
                             data[static_cast<std::size_t>(e)]});
        }
        const FoldIn fold = recommender.fold_in(visitor);
        std::copy(fold.factors.begin(), fold.factors.end(), out + static_cast<std::size_t>(r) * k);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
  }
  return Owned2(out, {static_cast<std::size_t>(rows), k}, owner);
}

// ---------------------------------------------------------------------------------------------
// Training options: the engine's TrainOptions, enums by name.

void set_enum(TrainOptions& o, const std::string& field, const std::string& value) {
  auto fail = [&] { throw InvalidArgument("unknown " + field + " \"" + value + "\""); };
  if (field == "algorithm") {
    const auto a = parse_algorithm(value);
    if (!a) fail();
    o.algorithm = *a;
  } else if (field == "objective") {
    const auto v = parse_objective(value);
    if (!v) fail();
    o.objective = *v;
  } else if (field == "init") {
    const auto v = parse_init(value);
    if (!v) fail();
    o.init = *v;
  } else if (field == "device") {
    const auto v = parse_device(value);
    if (!v) fail();
    o.device = *v;
  } else {
    throw InvalidArgument("unknown option " + field);
  }
}

DenseMatrix dense_from(const InMatrix& m) {
  DenseMatrix out(static_cast<std::int64_t>(m.shape(0)), static_cast<std::int64_t>(m.shape(1)));
  std::copy(m.data(), m.data() + out.data.size(), out.data.begin());
  return out;
}

nb::tuple train_python(const Ratings& ratings, const TrainOptions& options) {
  TrainReport report;
  std::optional<Model> model;
  {
    nb::gil_scoped_release release;
    model.emplace(train(*ratings.matrix, options, &report));
    if (ratings.dataset) attach_catalog(*model, *ratings.dataset);
  }
  nb::dict info;
  info["device"] = report.device;
  info["iterations"] = report.iterations;
  info["loss_history"] = report.loss_history;
  info["seconds"] = report.seconds;
  return nb::make_tuple(std::make_shared<PyModel>(std::move(*model)), info);
}

std::string evaluate_python(const Ratings& ratings, TrainOptions train_options, const std::string& protocol,
                            const std::string& split, double test_fraction, std::uint64_t split_seed,
                            int folds, std::vector<int> ks, float relevance, int min_ratings) {
  EvaluationOptions options;
  const auto p = parse_protocol(protocol);
  if (!p) throw InvalidArgument("unknown protocol \"" + protocol + "\" (holdout, kfold)");
  const auto s = parse_split_kind(split);
  if (!s)
    throw InvalidArgument("unknown split \"" + split + "\" (random, per-user, temporal, temporal-global)");
  if (ks.empty()) throw InvalidArgument("at least one cut-off k is needed");
  if (min_ratings < 0) throw InvalidArgument("min_ratings must be >= 0");
  nb::gil_scoped_release release;
  // One device decision for the whole run, as `cinefactor evaluate` makes it.
  train_options.backend =
      select_backend(*ratings.matrix, train_options, *std::max_element(ks.begin(), ks.end()));
  options.protocol = *p;
  options.split.kind = *s;
  options.split.test_fraction = test_fraction;
  options.split.seed = split_seed;
  options.folds = folds;
  options.ranking.ks = std::move(ks);
  options.ranking.relevance_threshold = relevance;
  options.ranking.threads = train_options.threads;
  options.ranking.min_ratings = min_ratings;
  options.ranking.device = train_options.device;
  options.ranking.backend = train_options.backend;
  options.ranking.show_progress = false;
  const EvaluationResult result = evaluate(
      *ratings.matrix, [&](const RatingMatrix& m) { return train(m, train_options); }, options);
  return to_json(result).dump();
}

void translate_exception(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const FormatError& e) {
    PyErr_SetString(model_format_error, e.what());
  } catch (const InvalidArgument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const ParseError& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const IoError& e) {
    PyErr_SetString(PyExc_OSError, e.what());
  } catch (const CudaOutOfMemory& e) {
    PyErr_SetString(PyExc_MemoryError, e.what());
  } catch (const Error& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
}

}  // namespace
}  // namespace cinefactor::python

NB_MODULE(_core, m) {
  using namespace cinefactor;
  using namespace cinefactor::python;
  m.doc() = "cinefactor's C++ engine (use the cinefactor package, not this module)";

  // A library, not a terminal program: no progress bars, warnings and errors only in the log.
  Progress::set_quiet(true);
  spdlog::set_level(spdlog::level::warn);
  m.def(
      "set_verbose", [](bool on) { spdlog::set_level(on ? spdlog::level::info : spdlog::level::warn); },
      "on"_a);

  // The type lives on as the module's attribute; the translator below is tried first and raises it.
  const nb::exception<FormatError> format_error(m, "ModelFormatError", PyExc_ValueError);
  model_format_error = format_error.ptr();
  nb::register_exception_translator(translate_exception);

  nb::class_<Ratings>(m, "Ratings")
      .def_prop_ro("shape",
                   [](const Ratings& r) { return nb::make_tuple(r.matrix->n_users(), r.matrix->n_movies()); })
      .def_prop_ro("nnz", [](const Ratings& r) { return r.matrix->nnz(); });
  m.def("ratings_from_csr", &ratings_from_csr, "indptr"_a, "indices"_a, "data"_a, "rows"_a, "cols"_a,
        "user_ids"_a = nb::none(), "movie_ids"_a = nb::none());

  nb::class_<Dataset>(m, "Dataset")
      .def_prop_ro(
          "indptr", [](const Dataset& d) { return vector_view(d.ratings.by_user().indptr); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "indices", [](const Dataset& d) { return vector_view(d.ratings.by_user().indices); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "values", [](const Dataset& d) { return vector_view(d.ratings.by_user().values); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "user_ids", [](const Dataset& d) { return span_view(d.ratings.user_ids()); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "movie_ids", [](const Dataset& d) { return span_view(d.ratings.movie_ids()); },
          nb::rv_policy::reference_internal)
      .def_prop_ro("shape",
                   [](const Dataset& d) { return nb::make_tuple(d.ratings.n_users(), d.ratings.n_movies()); })
      .def_prop_ro("layout", [](const Dataset& d) { return std::string(layout_name(d.layout)); })
      .def_prop_ro("scale", [](const Dataset& d) { return nb::make_tuple(d.scale.min, d.scale.max); })
      .def_prop_ro("from_cache", [](const Dataset& d) { return d.report.from_cache; })
      // One tuple per rating-matrix column: (id, title, year, genres, imdb_id, tmdb_id, rating count).
      .def("columns", [](const Dataset& d) {
        nb::list out;
        for (std::int32_t c = 0; c < d.ratings.n_movies(); ++c) {
          const Movie& mv = d.column_movie(c);
          out.append(nb::make_tuple(mv.id, mv.title, mv.year, mv.genres, mv.imdb_id, mv.tmdb_id,
                                    d.ratings.movie_count(c)));
        }
        return out;
      });
  m.def(
      "load_dataset",
      [](const std::string& dir, bool skip_bad_lines, bool use_cache, int threads) {
        LoadOptions options;
        options.skip_bad_lines = skip_bad_lines;
        options.use_cache = use_cache;
        options.threads = threads;
        nb::gil_scoped_release release;
        return std::make_shared<Dataset>(load_dataset(dir, options));
      },
      "dir"_a, "skip_bad_lines"_a = false, "use_cache"_a = true, "threads"_a = 0);
  m.def(
      "dataset_ratings",
      [](const std::shared_ptr<Dataset>& d) {
        return Ratings{std::shared_ptr<const RatingMatrix>(d, &d->ratings), d};
      },
      "dataset"_a);

  nb::class_<TrainOptions>(m, "TrainOptions")
      .def(nb::init<>())
      .def_rw("rank", &TrainOptions::rank)
      .def_rw("max_iterations", &TrainOptions::max_iterations)
      .def_rw("tolerance", &TrainOptions::tolerance)
      .def_rw("seed", &TrainOptions::seed)
      .def_rw("threads", &TrainOptions::threads)
      .def_rw("l2_user", &TrainOptions::l2_user)
      .def_rw("l2_movie", &TrainOptions::l2_movie)
      .def_rw("biases", &TrainOptions::biases)
      .def_rw("l2_bias", &TrainOptions::l2_bias)
      .def_rw("oversamples", &TrainOptions::oversamples)
      .def_rw("power_iterations", &TrainOptions::power_iterations)
      .def_rw("center", &TrainOptions::center)
      .def("set", &set_enum, "field"_a, "value"_a)
      .def(
          "set_initial_factors",
          [](TrainOptions& o, const InMatrix& w, const InMatrix& ht) {
            o.initial_user_factors = dense_from(w);
            o.initial_movie_factors = dense_from(ht);
          },
          "w"_a, "ht"_a);
  m.def("train", &train_python, "ratings"_a, "options"_a);
  m.def("evaluate", &evaluate_python, "ratings"_a, "options"_a, "protocol"_a, "split"_a, "test_fraction"_a,
        "split_seed"_a, "folds"_a, "ks"_a, "relevance"_a, "min_ratings"_a);

  nb::class_<PyModel>(m, "Model")
      .def_static(
          "load",
          [](const std::string& path) {
            std::optional<Model> model;
            {
              nb::gil_scoped_release release;
              model.emplace(load_model(path));
            }
            return std::make_shared<PyModel>(std::move(*model));
          },
          "path"_a)
      .def_static(
          "from_bytes",
          [](const nb::bytes& bytes, const std::string& source) {
            const std::string_view view(bytes.c_str(), bytes.size());
            return std::make_shared<PyModel>(deserialize_model(view, source));
          },
          "data"_a, "source"_a)
      .def(
          "save",
          [](const PyModel& self, const std::string& path) {
            nb::gil_scoped_release release;
            save_model(*self.model, path);
          },
          "path"_a)
      .def("to_bytes",
           [](const PyModel& self) {
             const std::string bytes = serialize_model(*self.model);
             return nb::bytes(bytes.data(), bytes.size());
           })
      .def_prop_ro("algorithm",
                   [](const PyModel& s) { return std::string(algorithm_name(s.model->algorithm)); })
      .def_prop_ro("objective",
                   [](const PyModel& s) { return std::string(objective_name(s.model->objective)); })
      .def_prop_ro("rank", [](const PyModel& s) { return s.model->rank(); })
      .def_prop_ro("predicts_ratings", [](const PyModel& s) { return s.model->predicts_ratings(); })
      .def_prop_ro("hyperparameters_json",
                   [](const PyModel& s) { return to_json(s.model->hyperparameters).dump(); })
      .def_prop_ro("data_fingerprint", [](const PyModel& s) { return s.model->data_fingerprint; })
      .def_prop_ro("global_offset", [](const PyModel& s) { return s.model->global_offset; })
      .def_prop_ro(
          "user_factors", [](const PyModel& s) { return matrix_view(s.model->user_factors); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "movie_factors", [](const PyModel& s) { return matrix_view(s.model->movie_factors); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "singular_values", [](const PyModel& s) { return vector_view(s.model->singular_values); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "user_bias", [](const PyModel& s) { return vector_view(s.model->user_bias); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "movie_bias", [](const PyModel& s) { return vector_view(s.model->movie_bias); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "user_ids", [](const PyModel& s) { return vector_view(s.model->user_ids); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "movie_ids", [](const PyModel& s) { return vector_view(s.model->movie_ids); },
          nb::rv_policy::reference_internal)
      .def_prop_ro("has_catalog", [](const PyModel& s) { return !s.model->catalog.empty(); })
      // (title, year, genres, rating count, rating mean) per movie of the model, or None without a catalog.
      .def("catalog_entry",
           [](const PyModel& s, std::int64_t movie_id) -> nb::object {
             const auto index = s.model->movie_index(movie_id);
             if (!index) throw InvalidArgument("unknown movie id " + std::to_string(movie_id));
             if (s.model->catalog.empty()) return nb::none();
             return catalog_entry(&s.model->catalog[static_cast<std::size_t>(*index)]);
           })
      .def("fold_in_rows", &fold_in_rows, "indptr"_a, "indices"_a, "data"_a, "cols"_a)
      .def(
          "fold_in",
          [](const PyModel& self, const std::vector<std::int64_t>& ids, const std::vector<double>& ratings) {
            const auto visitor = visitor_ratings(ids, ratings);
            nb::gil_scoped_release release;
            const FoldIn fold = self.for_visitors().fold_in(visitor);
            return std::make_tuple(fold.factors, fold.bias);
          },
          "movie_ids"_a, "ratings"_a)
      .def(
          "recommend",
          [](const PyModel& self, const std::vector<std::int64_t>& ids, const std::vector<double>& ratings,
             const std::optional<std::string>& years, std::optional<std::int32_t> year_from,
             std::optional<std::int32_t> year_to, std::int32_t boundary_year, std::vector<std::string> genres,
             std::vector<std::string> exclude_genres, std::int32_t min_ratings, int top_n, int explain) {
            if (top_n < 1) throw InvalidArgument("n must be >= 1, got " + std::to_string(top_n));
            if (explain < 0) throw InvalidArgument("explain must be >= 0, got " + std::to_string(explain));
            RecommendRequest request;
            request.ratings = visitor_ratings(ids, ratings);
            request.filters = make_filters(years, year_from, year_to, boundary_year, std::move(genres),
                                           std::move(exclude_genres), min_ratings);
            request.top_n = top_n;
            request.explain = explain;
            std::vector<Recommendation> recs;
            {
              nb::gil_scoped_release release;
              recs = self.for_visitors().recommend(request);
            }
            return recommendations_to_python(recs);
          },
          "movie_ids"_a, "ratings"_a, "years"_a, "year_from"_a, "year_to"_a, "boundary_year"_a, "genres"_a,
          "exclude_genres"_a, "min_ratings"_a, "n"_a, "explain"_a)
      .def(
          "similar",
          [](const PyModel& self, std::int64_t movie_id, int top_n, std::int32_t min_ratings) {
            if (top_n < 1) throw InvalidArgument("n must be >= 1, got " + std::to_string(top_n));
            const Filters filters = make_filters(std::nullopt, std::nullopt, std::nullopt,
                                                 kDefaultBoundaryYear, {}, {}, min_ratings);
            std::vector<SimilarMovie> similar;
            {
              nb::gil_scoped_release release;
              similar = self.for_visitors().similar(movie_id, filters, top_n);
            }
            nb::list out;
            for (const auto& s : similar) {
              out.append(nb::make_tuple(s.movie_id, catalog_entry(s.movie), s.similarity, s.rating_count));
            }
            return out;
          },
          "movie_id"_a, "n"_a, "min_ratings"_a);
}
