#pragma once
// Serverless Framework variables, resolved over a parsed YAML document the way `serverless`
// resolves serverless.yml before it reads any key, so a service file from the seed loads as is.
//
// Forms:
//   ${self:a.b.c}        any value of the document (numeric segments index lists: events.0);
//                        it may hold variables itself: they resolve first, a cycle is an error
//   ${opt:stage}         a command-line option (--stage, --region, ...), from `options`
//   ${env:NAME}          an environment variable, from `env`
//   ${sls:stage}         --stage, else provider.stage, else "dev" (Serverless v3)
//   ${opt:stage, 'dev'}  fallbacks, tried left to right: variables written with or without
//   ${env:X, ''}         ${...}, 'single' or "double" quoted strings, numbers, true, false
//   ${self:service}-${opt:stage, self:provider.stage}   variables inside a string
//   ${self:custom.${opt:stage}}                          a variable inside an address
// A value that is one variable and nothing else takes the referenced value whole: a number
// stays a number, a mapping stays a mapping. Inside a longer string a variable must name a
// scalar. A scalar made from a variable keeps the quoting of the scalar it was written in, so
// `5` from `${opt:n}` reads as a number and from `'${opt:n}'` as a string.
// Keys are not resolved, only values (as in Serverless v3).
//
// Plain functions over values; no shared state.

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>

#include "common/result.h"

namespace hirestream::config {

// Returns a resolved copy of `root` (the argument is not modified). Values under the key paths
// in `unread` (dotted, e.g. "custom", "provider.iam") stay as written unless another value
// refers into them: sections the reader ignores may use sources hirestream cannot resolve
// (${ssm:...}, ${cf:...}) without failing the load.
// Fails with invalid_argument whose field is the key path of the value holding the variable
// (e.g. "functions.sendAssignment.events[0].stream.arn") and whose message quotes the
// variable: "${env:NOPE} is not set (no environment variable NOPE)", a cycle, an unsupported
// source (file, ssm, cf, s3, aws, ...), or malformed syntax.
Result<YAML::Node> resolve_variables(const YAML::Node& root,
                                     const std::map<std::string, std::string>& options,
                                     const std::map<std::string, std::string>& env,
                                     const std::set<std::string>& unread = {});

}  // namespace hirestream::config
