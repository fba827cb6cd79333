// label_image in C++: classifies one image with an exported slim network and prints the top 5, like TF's C++
// label_image and exactly like slim's Python one (slim/export/label_image.py): same flags, same preprocessing
// (see image.h), same "<label> (<score>)" lines.
//
// The model is an AOTInductor package (python -m slim.export.aoti --input_graph=frozen.onnx writes frozen.aoti.pt2),
// run through the libtorch shipped inside the torch wheel; --graph may name the package or the .onnx beside it.
//
//   label_image --image=flower.jpg --graph=/tmp/frozen_mobilenet.onnx --labels=labels.txt
//       --input_mean=-127 --input_std=127   (one command line)
//
// Build: python -m slim.export.build_cpp_label_image --output_dir=DIR (or CMake, see README.md).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unordered_map>
#include <vector>

#include <ATen/ops/from_blob.h>
#include <c10/util/Exception.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include "image.h"

namespace {

const char kUsage[] =
    "usage: label_image --image=IMAGE --graph=MODEL [--labels=FILE] [--input_mean=0] [--input_std=255]\n"
    "                   [--input_layer=input] [--output_layer=NAME] [--input_width=W] [--input_height=H]\n"
    "\n"
    "Prints the top 5 labels of an image with an exported graph.\n"
    "  --image         image to be processed (JPEG or PNG)\n"
    "  --graph         graph/model to be executed: an AOTInductor package (.aoti.pt2), or the .onnx it was made\n"
    "                  from (then <stem>.aoti.pt2 beside it is run)\n"
    "  --labels        name of file containing labels (one per line, or TF-Slim's <id>:<name>)\n"
    "  --input_height  input height (default: the graph's, or 224 when the graph's is dynamic)\n"
    "  --input_width   input width (default: the graph's, or 224 when the graph's is dynamic)\n"
    "  --input_mean    input mean (default 0)\n"
    "  --input_std     input std (default 255)\n"
    "  --input_layer   name of input layer (default input)\n"
    "  --output_layer  name of output layer (default: the first output)\n"
    "Debugging aids:\n"
    "  --dump_input    write the tensor fed to the graph to this file (raw float32, NCHW); without --graph, exit\n"
    "                  after writing it (then --input_channels, default 3, gives the channels)\n";

struct Flags {
  std::string image;
  std::string graph;
  std::string labels;
  std::string input_layer = "input";
  std::string output_layer;
  std::string dump_input;
  float input_mean = 0.0f;
  float input_std = 255.0f;
  int input_width = 0;   // 0: from the graph
  int input_height = 0;
  int input_channels = 3;
};

// argparse's way: the usage lines, then the error.
[[noreturn]] void Usage(const std::string& error) {
  const std::string usage(kUsage);
  std::cerr << usage.substr(0, usage.find("\n\n") + 1) << "label_image: error: " << error << "\n";
  std::exit(2);
}

// Python's float() and int() for flag values: the whole string must parse.
float ParseFloat(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    const double parsed = std::stod(value, &used);
    if (used == value.size()) return static_cast<float>(parsed);  // numpy casts the Python float to float32 too
  } catch (const std::exception&) {
  }
  Usage("argument --" + name + ": invalid float value: '" + value + "'");
}

int ParseInt(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    const long parsed = std::stol(value, &used);
    if (used == value.size()) return static_cast<int>(parsed);
  } catch (const std::exception&) {
  }
  Usage("argument --" + name + ": invalid int value: '" + value + "'");
}

// Accepts --name=value and --name value, as argparse (and so the Python label_image) does.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) Usage("unrecognized arguments: " + arg);
    std::string name = arg.substr(2);
    std::string value;
    const size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage("argument --" + name + ": expected one argument");
    }
    values[name] = value;
  }
  for (const auto& [name, value] : values) {
    if (name == "image") {
      flags.image = value;
    } else if (name == "graph") {
      flags.graph = value;
    } else if (name == "labels") {
      flags.labels = value;
    } else if (name == "input_layer") {
      flags.input_layer = value;
    } else if (name == "output_layer") {
      flags.output_layer = value;
    } else if (name == "dump_input") {
      flags.dump_input = value;
    } else if (name == "input_mean") {
      flags.input_mean = ParseFloat(name, value);
    } else if (name == "input_std") {
      flags.input_std = ParseFloat(name, value);
    } else if (name == "input_width") {
      flags.input_width = ParseInt(name, value);
    } else if (name == "input_height") {
      flags.input_height = ParseInt(name, value);
    } else if (name == "input_channels") {
      flags.input_channels = ParseInt(name, value);
    } else {
      Usage("unrecognized arguments: --" + name);
    }
  }
  if (flags.image.empty()) Usage("the following arguments are required: --image");
  if (flags.graph.empty() && flags.dump_input.empty()) Usage("the following arguments are required: --graph");
  return flags;
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// --graph=model.onnx runs model.aoti.pt2, the package slim.export.aoti makes from that export.
std::string ResolvePackage(const std::string& graph) {
  const std::string onnx = ".onnx";
  if (graph.size() > onnx.size() && graph.compare(graph.size() - onnx.size(), onnx.size(), onnx) == 0) {
    const std::string package = graph.substr(0, graph.size() - onnx.size()) + ".aoti.pt2";
    if (!Exists(package)) {
      throw std::runtime_error("no AOTInductor package " + package + " beside " + graph +
                               ": make it with python -m slim.export.aoti --input_graph=" + graph);
    }
    return package;
  }
  if (!Exists(graph)) throw std::runtime_error("no such graph: " + graph);
  return graph;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

std::string Quote(const std::string& text) { return "'" + text + "'"; }

std::string PythonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quote(items[i]);
  return out + "]";
}

// load_labels of the Python label_image: lines (universal newlines), empty ones skipped, "<digits>:<name>" -> name.
std::vector<std::string> LoadLabels(const std::string& path) {
  std::vector<std::string> labels;
  if (path.empty()) return labels;
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open labels file " + path);
  std::stringstream buffer;
  buffer << file.rdbuf();
  std::string text = buffer.str();
  std::string line;
  auto flush = [&]() {
    if (!line.empty()) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string head = line.substr(0, colon);
        const auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
        head.erase(head.begin(), std::find_if_not(head.begin(), head.end(), is_space));
        head.erase(std::find_if_not(head.rbegin(), head.rend(), is_space).base(), head.end());
        const bool digits = !head.empty() && std::all_of(head.begin(), head.end(), [](unsigned char c) {
          return c >= '0' && c <= '9';
        });
        if (digits) line = line.substr(colon + 1);
      }
      labels.push_back(line);
    }
    line.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      flush();
    } else {
      line.push_back(c);
    }
  }
  flush();
  return labels;
}

void WriteTensor(const std::string& path, const std::vector<float>& tensor) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(tensor.data()), static_cast<std::streamsize>(tensor.size() * sizeof(float)));
  if (!file) throw std::runtime_error("cannot write " + path);
}

int Run(const Flags& flags) {
  if (flags.graph.empty()) {  // --dump_input alone: the preprocessing, without a model
    const int height = flags.input_height ? flags.input_height : 224;
    const int width = flags.input_width ? flags.input_width : 224;
    WriteTensor(flags.dump_input, label_image::ReadTensorFromImageFile(flags.image, height, width, flags.input_mean,
                                                                       flags.input_std, flags.input_channels));
    return 0;
  }
  const std::string package = ResolvePackage(flags.graph);
  torch::inductor::AOTIModelPackageLoader loader(package);
  std::unordered_map<std::string, std::string> metadata = loader.get_metadata();

  // The input and output names and the input shape that the ONNX export has (written by slim.export.aoti), so the
  // defaults are the Python label_image's: dynamic dimensions are -1, and then 3 channels and 224 x 224.
  const std::string input_name = metadata.count("slim.input_name") ? metadata["slim.input_name"] : "input";
  if (flags.input_layer != input_name) {
    throw std::runtime_error(flags.graph + " has no input " + Quote(flags.input_layer) + "; inputs are " +
                             PythonList({input_name}) + ".");
  }
  std::vector<long> shape = {-1, -1, -1, -1};
  if (metadata.count("slim.input_shape")) {
    shape.clear();
    for (const auto& dim : Split(metadata["slim.input_shape"], ',')) shape.push_back(std::stol(dim));
  }
  if (shape.size() != 4) throw std::runtime_error(flags.graph + " does not take [N, C, H, W] images");
  const int channels = shape[1] > 0 ? static_cast<int>(shape[1]) : 3;
  const int height = flags.input_height ? flags.input_height : (shape[2] > 0 ? static_cast<int>(shape[2]) : 224);
  const int width = flags.input_width ? flags.input_width : (shape[3] > 0 ? static_cast<int>(shape[3]) : 224);

  std::vector<float> data = label_image::ReadTensorFromImageFile(flags.image, height, width, flags.input_mean,
                                                                 flags.input_std, channels);
  if (!flags.dump_input.empty()) WriteTensor(flags.dump_input, data);
  at::Tensor input = at::from_blob(data.data(), {1, channels, height, width}, at::TensorOptions().dtype(at::kFloat));
  std::vector<at::Tensor> outputs = loader.run({input});

  std::vector<std::string> output_names;
  if (metadata.count("slim.output_names")) output_names = Split(metadata["slim.output_names"], ',');
  while (output_names.size() < outputs.size()) output_names.push_back("output_" + std::to_string(output_names.size()));
  std::string output_layer = flags.output_layer.empty() ? output_names.at(0) : flags.output_layer;
  const std::string reshape = "/Reshape_1";  // TF-Slim's frozen-graph name for the predictions
  const auto position = [&](const std::string& name) {
    return std::find(output_names.begin(), output_names.end(), name) - output_names.begin();
  };
  if (output_layer.size() > reshape.size() &&
      output_layer.compare(output_layer.size() - reshape.size(), reshape.size(), reshape) == 0 &&
      position(output_layer) == static_cast<long>(output_names.size())) {
    output_layer = output_layer.substr(0, output_layer.size() - reshape.size());
  }
  const size_t index = static_cast<size_t>(position(output_layer));
  if (index >= outputs.size()) {
    throw std::runtime_error(flags.graph + " has no output " + Quote(output_layer) + "; outputs are " +
                             PythonList(output_names) + ".");
  }
  at::Tensor result = outputs[index].contiguous();
  if (result.scalar_type() != at::kFloat) throw std::runtime_error("output " + output_layer + " is not float32");
  const float* scores = result.data_ptr<float>();
  const size_t count = static_cast<size_t>(result.numel());

  // np.argsort(-scores, kind="stable")[:5]: highest first, ties in index order, NaN last.
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  const auto key = [&](size_t i) { return std::make_pair(std::isnan(scores[i]), -scores[i]); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  const std::vector<std::string> labels = LoadLabels(flags.labels);
  for (size_t rank = 0; rank < std::min<size_t>(5, count); ++rank) {
    const size_t i = order[rank];
    const std::string name = i < labels.size() ? labels[i] : std::to_string(i);
    std::printf("%s (%.5f)\n", name.c_str(), static_cast<double>(scores[i]));
  }
  return 0;
}

// Errors raised inside the model carry the inner error's C++ backtrace in their message: keep the message only.
std::string WithoutBacktrace(std::string message) {
  return message.substr(0, message.find("\nException raised from"));
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  try {
    return Run(flags);
  } catch (const c10::Error& error) {
    std::cerr << "label_image: error: " << WithoutBacktrace(error.what_without_backtrace()) << "\n";
  } catch (const std::exception& error) {
    std::cerr << "label_image: error: " << WithoutBacktrace(error.what()) << "\n";
  }
  return 1;
}
