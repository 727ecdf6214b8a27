// Errors thrown by mlprims. Messages name the function, the argument, what was expected and
// what was received; the Python bindings map TypeError and ValueError to the Python builtins.
#pragma once

#include <stdexcept>
#include <string>

namespace mlprims {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An argument of the wrong kind: dtype, device kind, a missing feature of the build.
class TypeError : public Error {
 public:
  using Error::Error;
};

// An argument of the right kind with a wrong value: shape, range, non-finite data.
class ValueError : public Error {
 public:
  using Error::Error;
};

}  // namespace mlprims
