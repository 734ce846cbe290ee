// The one instantiation of each SVD of svd.h.
#include "harness/analysis/svd.h"

template class Eigen::BDCSVD<Eigen::MatrixXd>;
template class Eigen::BDCSVD<
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
