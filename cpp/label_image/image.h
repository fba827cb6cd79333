// Image decoding and preprocessing for label_image, bit-exact with the Python label_image (Pillow + numpy).
//
// The Python label_image does
//     Image.open(path).convert("RGB" or "L").resize((width, height), Image.BILINEAR)
//     (np.asarray(image, np.float32) - input_mean) / input_std, as NCHW
// so this file re-implements exactly those steps: JPEG through libjpeg (the same ISLOW IDCT and fancy upsampling
// that Pillow's libjpeg-turbo uses), PNG through libpng, Pillow's mode conversions, and Pillow's fixed-point
// separable bilinear resampling (libImaging/Resample.c), whose support widens when shrinking (an anti-aliasing
// filter, not the 2x2 bilinear interpolation of most libraries). Kept free of libtorch so it compiles on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace label_image {

// An 8-bit image, pixels interleaved row by row (channels 1 = "L", 3 = "RGB").
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a JPEG or PNG file (recognised by content, like Pillow) and converts it to `channels` (1 or 3) the way
// Pillow's convert("L") / convert("RGB") does. Throws std::runtime_error naming the file on failure.
Image ReadImage(const std::string& path, int channels);

// Pillow's Image.resize((width, height), Image.BILINEAR) for 8-bit "L" and "RGB" images.
Image ResizeBilinear(const Image& image, int width, int height);

// (pixel - mean) / std in float32, as a [1, C, H, W] array.
std::vector<float> ToNCHW(const Image& image, float mean, float std);

// ReadImage + ResizeBilinear + ToNCHW: the tensor the graph is fed.
std::vector<float> ReadTensorFromImageFile(const std::string& path, int height, int width, float mean, float std,
                                           int channels);

}  // namespace label_image
