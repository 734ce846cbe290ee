#pragma once
// The singular value decompositions of the experiments (offset_linearity's least-squares fits,
// embedding_interference's principal directions): Eigen's BDCSVD of a float64 matrix, column- or
// row-major, instantiated once, in svd.cpp. Each file that instantiated one spent 15-25 s of
// compile time on it (template instantiation); with the explicit instantiation declarations
// below, the files that include this header use svd.cpp's copies. An SVD of any other matrix
// type would be instantiated again where it is used. (Both types are kept: an SVD of a
// column-major copy of a row-major matrix gives results that differ in their last bits.)

#include <Eigen/Dense>

extern template class Eigen::BDCSVD<Eigen::MatrixXd>;
extern template class Eigen::BDCSVD<
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

namespace posbench {

using Svd = Eigen::BDCSVD<Eigen::MatrixXd>;
using RowMajorSvd =
    Eigen::BDCSVD<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

}  // namespace posbench
