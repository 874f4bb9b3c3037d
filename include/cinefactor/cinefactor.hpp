// cinefactor's whole public API in one include: data loading, training on the CPU or CUDA backend, model
// files, recommendations for a visitor, offline evaluation, and the web app's server.
#pragma once

#include "cinefactor/catalog_search.hpp"
#include "cinefactor/dataset.hpp"
#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "cinefactor/fetch.hpp"
#include "cinefactor/metrics.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/model_registry.hpp"
#include "cinefactor/model_reloader.hpp"
#include "cinefactor/movie.hpp"
#include "cinefactor/progress.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/server.hpp"
#include "cinefactor/synth.hpp"
#include "cinefactor/tmdb_options.hpp"
#include "cinefactor/train.hpp"
