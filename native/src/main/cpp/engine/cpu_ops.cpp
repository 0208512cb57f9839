// The MLX primitives of cpu_ops.h. Each eval_cpu allocates its output and runs its kernel through the
// CPU stream's command encoder, like MLX's own CPU ops, so it is ordered with them on that stream.
#include "engine/cpu_ops.h"

#include "engine/cpu_kernels.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/primitives.h"

namespace lorabeam {

namespace {

// Rows of the last axis: (rows, cols) of a row-contiguous array.
int64_t last_axis(const mx::array& x) { return x.ndim() == 0 ? 1 : x.shape(-1); }

// out takes over in's buffer when nothing else holds it and the sizes match, as MLX's own unary ops
// do (the kernels may run in place): without that, e.g. a block recomputed under mx::checkpoint would
// hold both the (B, H, T, T) scores and their softmax at once. Otherwise out gets new memory.
void allocate(const mx::array& in, mx::array& out) {
  if (in.is_donatable() && in.flags().row_contiguous && in.nbytes() == out.nbytes() && in.dtype() == out.dtype()) {
    out.copy_shared_buffer(in);
  } else {
    out.set_data(mx::allocator::malloc(out.nbytes()));
  }
}

// Allocates out and dispatches kernel(in, out) on the primitive's stream.
template <class Kernel>
void dispatch(mx::Stream stream, const mx::array& in, mx::array& out, Kernel kernel) {
  allocate(in, out);
  auto& encoder = mx::cpu::get_command_encoder(stream);
  encoder.set_input_array(in);
  encoder.set_output_array(out);
  encoder.dispatch([in = mx::array::unsafe_weak_copy(in), out = mx::array::unsafe_weak_copy(out),
                    kernel]() mutable { kernel(in.data<float>(), out.data<float>(), in); });
}

// The same for several inputs: kernel(inputs, out); out may take over inputs[0]'s buffer.
template <class Kernel>
void dispatch_all(mx::Stream stream, const std::vector<mx::array>& inputs, mx::array& out, Kernel kernel) {
  allocate(inputs[0], out);
  auto& encoder = mx::cpu::get_command_encoder(stream);
  std::vector<mx::array> ins;
  for (const mx::array& a : inputs) {
    encoder.set_input_array(a);
    ins.push_back(mx::array::unsafe_weak_copy(a));
  }
  encoder.set_output_array(out);
  encoder.dispatch([ins, out = mx::array::unsafe_weak_copy(out), kernel]() mutable { kernel(ins, out); });
}

// dx = p ⊙ (g − Σ g ⊙ p) in one pass over the rows (four MLX ops otherwise). Inputs g, p; not
// differentiable again (the engine takes first derivatives only).
class FastSoftmaxVjp : public mx::UnaryPrimitive {
 public:
  explicit FastSoftmaxVjp(mx::Stream stream) : mx::UnaryPrimitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    dispatch_all(stream(), inputs, out, [](const std::vector<mx::array>& in, mx::array& dx) {
      int64_t cols = last_axis(in[0]);  // in: g, p
      cpu::softmax_vjp_rows(in[1].data<float>(), in[0].data<float>(), dx.data<float>(),
                            in[0].size() / std::max<int64_t>(cols, 1), cols);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[FastSoftmaxVjp] CPU only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
  const char* name() const override { return "FastSoftmaxVjp"; }
};

// w ⊙ (exp(x − lse) − onehot(target)) for logits x (C, V), lse (C, 1), target (C, 1) int32, w (C, 1).
class FastXentGrad : public mx::UnaryPrimitive {
 public:
  explicit FastXentGrad(mx::Stream stream) : mx::UnaryPrimitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    dispatch_all(stream(), inputs, out, [](const std::vector<mx::array>& in, mx::array& dx) {
      int64_t cols = last_axis(in[0]);
      cpu::xent_grad_rows(in[0].data<float>(), in[1].data<float>(), in[2].data<int32_t>(), in[3].data<float>(),
                          dx.data<float>(), in[0].size() / std::max<int64_t>(cols, 1), cols);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[FastXentGrad] CPU only");
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
  const char* name() const override { return "FastXentGrad"; }
};

class FastSoftmax : public mx::UnaryPrimitive {
 public:
  FastSoftmax(mx::Stream stream, bool causal) : mx::UnaryPrimitive(stream), causal_(causal) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    bool causal = causal_;
    dispatch(stream(), inputs[0], out, [causal](const float* x, float* y, const mx::array& in) {
      int64_t cols = last_axis(in), rows = in.size() / std::max<int64_t>(cols, 1);
      int64_t tq = causal ? in.shape(-2) : 0;
      cpu::softmax_rows(x, y, rows, cols, tq, causal ? cols - tq : 0);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[FastSoftmax] CPU only: use mx::softmax on the GPU");
  }
  // dx = p ⊙ (g − Σ g ⊙ p): masked entries have p = 0, so their gradient is 0 too.
  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>& outputs) override {
    std::vector<mx::array> in = {mx::contiguous(cotangents[0], false, stream()), outputs[0]};
    return {mx::array(outputs[0].shape(), mx::float32, std::make_shared<FastSoftmaxVjp>(stream()), in)};
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }
  bool is_equivalent(const mx::Primitive& other) const override {
    return causal_ == static_cast<const FastSoftmax&>(other).causal_;
  }
  const char* name() const override { return causal_ ? "FastCausalSoftmax" : "FastSoftmax"; }

 private:
  bool causal_;
};

class FastLogSumExp : public mx::UnaryPrimitive {
 public:
  explicit FastLogSumExp(mx::Stream stream) : mx::UnaryPrimitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    dispatch(stream(), inputs[0], out, [](const float* x, float* y, const mx::array& in) {
      int64_t cols = last_axis(in);
      cpu::logsumexp_rows(x, y, in.size() / std::max<int64_t>(cols, 1), cols);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[FastLogSumExp] CPU only: use mx::logsumexp on the GPU");
  }
  // d lse / dx = softmax(x).
  std::vector<mx::array> vjp(const std::vector<mx::array>& primals, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>&) override {
    return {mx::multiply(cotangents[0], fast_softmax(primals[0]), stream())};
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    mx::Shape s = inputs[0].shape();
    s.back() = 1;
    return {s};
  }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
  const char* name() const override { return "FastLogSumExp"; }
};

class FastSigmoid : public mx::UnaryPrimitive {
 public:
  explicit FastSigmoid(mx::Stream stream) : mx::UnaryPrimitive(stream) {}

  void eval_cpu(const std::vector<mx::array>& inputs, mx::array& out) override {
    dispatch(stream(), inputs[0], out,
             [](const float* x, float* y, const mx::array& in) { cpu::sigmoid(x, y, in.size()); });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[FastSigmoid] CPU only: use mx::sigmoid on the GPU");
  }
  // dσ/dx = σ (1 − σ), from the output.
  std::vector<mx::array> vjp(const std::vector<mx::array>&, const std::vector<mx::array>& cotangents,
                             const std::vector<int>&, const std::vector<mx::array>& outputs) override {
    const mx::array& s = outputs[0];
    mx::array ds = mx::multiply(s, mx::subtract(mx::array(1.0f), s, stream()), stream());
    return {mx::multiply(cotangents[0], ds, stream())};
  }
  std::vector<mx::Shape> output_shapes(const std::vector<mx::array>& inputs) override {
    return {inputs[0].shape()};
  }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
  const char* name() const override { return "FastSigmoid"; }
};

// The kernels read rows densely: a strided or broadcast view is copied first (a no-op otherwise).
mx::array dense(const mx::array& x) { return mx::contiguous(x, false, mx::Device::cpu); }

}  // namespace

mx::array fast_xent_grad(const mx::array& logits, const mx::array& lse, const mx::array& targets,
                         const mx::array& weights) {
  if (!cpu_kernels_apply(logits)) {
    throw std::invalid_argument("fast_xent_grad: needs float32 logits on the CPU device");
  }
  std::vector<mx::array> in = {dense(logits), dense(lse), dense(mx::astype(targets, mx::int32)),
                               dense(mx::astype(weights, mx::float32))};
  mx::Stream s = mx::default_stream(mx::Device::cpu);
  return mx::array(logits.shape(), mx::float32, std::make_shared<FastXentGrad>(s), in);
}

bool cpu_kernels_apply(const mx::array& x) {
  return mx::default_device() == mx::Device::cpu && x.dtype() == mx::float32;
}

mx::array fast_softmax(const mx::array& x, bool causal) {
  if (!cpu_kernels_apply(x) || x.ndim() < (causal ? 2 : 1)) {
    if (!causal) return mx::softmax(x, -1, true);
    throw std::invalid_argument("fast_softmax: causal mode needs float32 (..., Tq, Tk) on the CPU");
  }
  mx::array in = dense(x);
  mx::Stream s = mx::default_stream(mx::Device::cpu);
  return mx::array(in.shape(), mx::float32, std::make_shared<FastSoftmax>(s, causal), {in});
}

mx::array fast_logsumexp(const mx::array& x) {
  if (!cpu_kernels_apply(x) || x.ndim() < 1) return mx::logsumexp(x, -1, true);
  mx::array in = dense(x);
  mx::Shape shape = in.shape();
  shape.back() = 1;
  mx::Stream s = mx::default_stream(mx::Device::cpu);
  return mx::array(shape, mx::float32, std::make_shared<FastLogSumExp>(s), {in});
}

mx::array fast_sigmoid(const mx::array& x) {
  if (!cpu_kernels_apply(x)) return mx::sigmoid(x);
  mx::array in = dense(x);
  mx::Stream s = mx::default_stream(mx::Device::cpu);
  return mx::array(in.shape(), mx::float32, std::make_shared<FastSigmoid>(s), {in});
}

}  // namespace lorabeam
