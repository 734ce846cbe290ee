#pragma once
// The parts of libtorch's C++ API that the trained experiment (and its tests and benchmark)
// use, instead of <torch/torch.h>: that header brings in every module, dataset, dataloader,
// JIT and CUDA API as well, ~22 CPU-s of parsing per translation unit (GCC 12, -O3, Debian
// libtorch 1.13) against ~13 s for these. A missing declaration is a compile error, never a
// change of behaviour: add the header that declares it here.
#include <torch/autograd.h>                         // torch::autograd::Function, tensor_list
#include <torch/nn/module.h>                        // torch::nn::Module
#include <torch/nn/modules/container/modulelist.h>  // torch::nn::ModuleList
#include <torch/nn/modules/dropout.h>               // torch::nn::Dropout
#include <torch/nn/modules/embedding.h>             // torch::nn::Embedding
#include <torch/nn/modules/linear.h>                // torch::nn::Linear
#include <torch/nn/modules/normalization.h>         // torch::nn::LayerNorm
#include <torch/nn/utils/clip_grad.h>               // torch::nn::utils::clip_grad_norm_
#include <torch/optim/adamw.h>                      // torch::optim::AdamW
#include <torch/serialize.h>                        // torch::serialize::OutputArchive, save
#include <torch/types.h>                            // torch::Tensor, factories, at:: ops
#include <torch/utils.h>                            // torch::manual_seed, set_num_threads
