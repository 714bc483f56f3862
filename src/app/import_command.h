#pragma once
// `hirestream import FILE.csv`: sends a CSV file of candidates to a running hirestream
// (POST /candidates:import) in parts of a few thousand rows, so any size of file goes with
// bounded requests, a progress bar on a terminal and each failed row reported by its line in
// the file.

#include <iosfwd>
#include <string>

#include "app/api_client.h"

namespace hirestream::app {

struct ImportOptions {
    std::string path;
    std::size_t rows_per_request = 2000;
    bool progress = false;  // draw a progress bar on `err` (a terminal)
};

// Prints each failed row ("line N: field: message") on `out` and a summary on `err`. Returns 0
// when every row was stored, 1 when some row failed or the server refused (what was stored
// before stays stored; the summary says how much).
int import_candidates(ApiClient& client, const ImportOptions& options, std::ostream& out,
                      std::ostream& err);

}  // namespace hirestream::app
