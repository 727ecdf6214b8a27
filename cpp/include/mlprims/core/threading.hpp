// One thread setting for everything mlprims runs on the CPU: its OpenMP loops and the BLAS it
// calls.
#pragma once

namespace mlprims {

// n >= 1 threads; n = 0 restores the default: the environment variable MLPRIMS_NUM_THREADS when it
// holds a positive integer, else the number of cores OpenMP sees.
void set_num_threads(int n);
int get_num_threads();

}  // namespace mlprims
