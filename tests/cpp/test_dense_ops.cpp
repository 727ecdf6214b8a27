// The host implementation of linalg's DenseOps against the operations' contract (the CUDA one
// runs the same checks in test_cuda.cpp when a GPU is present). The device algorithm built on
// these operations is tested end to end in tests/python/test_lowrank_device.py.
#include <gtest/gtest.h>

#include "dense_ops_contract.hpp"
#include "linalg/backend.hpp"

TEST(CpuDenseOps, Float64MeetsTheContract) { dense_ops_contract::check_all(mlprims::linalg::CpuDenseOps<double>()); }

TEST(CpuDenseOps, Float32MeetsTheContract) { dense_ops_contract::check_all(mlprims::linalg::CpuDenseOps<float>()); }
