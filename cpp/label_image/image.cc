// Image decoding and preprocessing for label_image: see image.h for why each step copies Pillow exactly.
#include "image.h"

#include <cerrno>
#include <csetjmp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <jpeglib.h>
#include <png.h>

namespace label_image {
namespace {

// Pillow's ITU-R 601-2 luma in 16.16 fixed point (libImaging/Convert.c, L24), rounded.
inline uint8_t Luma(int r, int g, int b) { return static_cast<uint8_t>((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16); }

// Pillow's MULDIV255 and CLIP8 (libImaging/Convert.c), for CMYK -> RGB.
inline int MulDiv255(int a, int b) {
  int tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}
inline uint8_t Clip8(int v) { return static_cast<uint8_t>(v <= 0 ? 0 : (v >= 255 ? 255 : v)); }

// Decoded pixels in their own mode (1 = L, 3 = RGB, 4 = CMYK with Pillow's Adobe inversion already applied).
struct Decoded {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

struct FileCloser {
  void operator()(FILE* file) const {
    if (file) fclose(file);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

void JpegSilence(j_common_ptr, int) {}  // Pillow ignores libjpeg's warnings (e.g. premature end of data)

// libjpeg with the options Pillow's JpegDecode.c uses: default ISLOW IDCT and fancy upsampling, output RGB for
// colour, L for grayscale, and CMYK read as Pillow's "CMYK;I" (Adobe's inverted convention, assumed as Pillow does).
// Every object with a destructor is created before setjmp, so a longjmp back skips none.
bool DecodeJpeg(FILE* file, Decoded* out, std::string* message) {
  jpeg_decompress_struct cinfo;
  JpegError error;
  std::vector<uint8_t>& pixels = out->pixels;
  cinfo.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JpegErrorExit;
  error.manager.emit_message = JpegSilence;
  if (setjmp(error.jump)) {
    *message = error.message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, file);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.num_components == 1) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (cinfo.num_components == 3) {
    cinfo.out_color_space = JCS_RGB;
  } else if (cinfo.num_components == 4) {
    cinfo.out_color_space = JCS_CMYK;
  } else {
    std::snprintf(error.message, sizeof(error.message), "unsupported JPEG with %d components", cinfo.num_components);
    std::longjmp(error.jump, 1);
  }
  jpeg_start_decompress(&cinfo);
  const int width = static_cast<int>(cinfo.output_width);
  const int height = static_cast<int>(cinfo.output_height);
  const int channels = cinfo.output_components;
  pixels.resize(static_cast<size_t>(width) * height * channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = pixels.data() + static_cast<size_t>(cinfo.output_scanline) * width * channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (channels == 4) {
    for (auto& value : pixels) value = static_cast<uint8_t>(255 - value);
  }
  out->width = width;
  out->height = height;
  out->channels = channels;
  return true;
}

void PngError(png_structp png, png_const_charp text) {
  auto* message = static_cast<std::string*>(png_get_error_ptr(png));
  *message = text;
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}

// libpng with Pillow's readings: palette and 1/2/4-bit gray expanded to 8 bits, 16-bit samples reduced to their high
// byte ("RGB;16B", "LA;16B"), except 16-bit gray without alpha, which Pillow opens as "I;16" and converts to 8 bits by
// clipping at 255. Alpha (and tRNS) is dropped, as convert("RGB") / convert("L") drop it.
bool DecodePng(FILE* file, Decoded* out, std::string* message) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, PngError, PngWarning);
  if (!png) {
    *message = "out of memory";
    return false;
  }
  png_infop info = png_create_info_struct(png);
  std::vector<uint8_t> raw;
  std::vector<png_bytep> rows;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    if (message->empty()) *message = "out of memory";
    return false;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  const bool gray16 = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16;
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16 && !gray16) png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int width = static_cast<int>(png_get_image_width(png, info));
  const int height = static_cast<int>(png_get_image_height(png, info));
  const int stored = png_get_channels(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  raw.resize(row_bytes * height);
  rows.resize(height);
  for (int y = 0; y < height; ++y) rows[y] = raw.data() + row_bytes * y;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);

  const int channels = stored >= 3 ? 3 : 1;  // drop alpha: GA -> L, RGBA -> RGB
  out->width = width;
  out->height = height;
  out->channels = channels;
  out->pixels.resize(static_cast<size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = rows[y];
    uint8_t* dst = out->pixels.data() + static_cast<size_t>(y) * width * channels;
    for (int x = 0; x < width; ++x) {
      if (gray16) {
        const int value = (src[2 * x] << 8) | src[2 * x + 1];  // PNG samples are big-endian
        dst[x] = static_cast<uint8_t>(value > 255 ? 255 : value);
      } else {
        for (int c = 0; c < channels; ++c) dst[x * channels + c] = src[x * stored + c];
      }
    }
  }
  return true;
}

// Pillow's convert("L") / convert("RGB") from L, RGB or CMYK.
Image Convert(const Decoded& decoded, int channels) {
  Image image;
  image.width = decoded.width;
  image.height = decoded.height;
  image.channels = channels;
  const size_t count = static_cast<size_t>(decoded.width) * decoded.height;
  image.pixels.resize(count * channels);
  const uint8_t* src = decoded.pixels.data();
  uint8_t* dst = image.pixels.data();
  for (size_t i = 0; i < count; ++i) {
    int r, g, b;
    if (decoded.channels == 1) {
      r = g = b = src[i];
    } else if (decoded.channels == 3) {
      r = src[3 * i];
      g = src[3 * i + 1];
      b = src[3 * i + 2];
    } else {  // CMYK -> RGB, libImaging/Convert.c cmyk2rgb
      const uint8_t* p = src + 4 * i;
      const int nk = 255 - p[3];
      r = Clip8(nk - MulDiv255(p[0], nk));
      g = Clip8(nk - MulDiv255(p[1], nk));
      b = Clip8(nk - MulDiv255(p[2], nk));
    }
    if (channels == 1) {
      dst[i] = decoded.channels == 1 ? src[i] : Luma(r, g, b);
    } else {
      dst[3 * i] = static_cast<uint8_t>(r);
      dst[3 * i + 1] = static_cast<uint8_t>(g);
      dst[3 * i + 2] = static_cast<uint8_t>(b);
    }
  }
  return image;
}

// libImaging/Resample.c: the bilinear (triangle) filter, support 1 scaled by the shrink factor.
constexpr int kPrecisionBits = 32 - 8 - 2;

double BilinearFilter(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

struct Coefficients {
  int ksize = 0;
  std::vector<int> bounds;   // per output pixel: first input pixel, count
  std::vector<int32_t> kk;   // per output pixel: ksize fixed-point weights
};

// precompute_coeffs + normalize_coeffs_8bpc, for the box (0, in_size) that resize() passes.
Coefficients PrecomputeCoeffs(int in_size, int out_size) {
  const float in0 = 0.0f;
  const float in1 = static_cast<float>(in_size);
  double scale = static_cast<double>(in1 - in0) / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;
  Coefficients result;
  result.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  std::vector<double> kk(static_cast<size_t>(out_size) * result.ksize, 0.0);
  result.bounds.resize(static_cast<size_t>(out_size) * 2);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    double ww = 0.0;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* k = &kk[static_cast<size_t>(xx) * result.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double w = BilinearFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
    }
    result.bounds[xx * 2] = xmin;
    result.bounds[xx * 2 + 1] = xmax;
  }
  result.kk.resize(kk.size());
  for (size_t i = 0; i < kk.size(); ++i) {
    const double scaled = kk[i] * (1 << kPrecisionBits);
    result.kk[i] = static_cast<int32_t>(kk[i] < 0 ? -0.5 + scaled : 0.5 + scaled);
  }
  return result;
}

inline uint8_t Clip8Fixed(int value) {
  if (value >= (1 << kPrecisionBits << 8)) return 255;
  if (value <= 0) return 0;
  return static_cast<uint8_t>(value >> kPrecisionBits);
}

}  // namespace

Image ReadImage(const std::string& path, int channels) {
  if (channels != 1 && channels != 3) throw std::runtime_error("label_image: images have 1 or 3 channels, not " +
                                                               std::to_string(channels));
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw std::runtime_error("cannot open image " + path + ": " + std::strerror(errno));
  unsigned char magic[8] = {0};
  const size_t got = std::fread(magic, 1, sizeof(magic), file.get());
  std::rewind(file.get());
  Decoded decoded;
  std::string message;
  bool ok;
  if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
    ok = DecodeJpeg(file.get(), &decoded, &message);
  } else if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) {
    ok = DecodePng(file.get(), &decoded, &message);
  } else {
    throw std::runtime_error("cannot identify image file " + path + " (this label_image reads JPEG and PNG)");
  }
  if (!ok) throw std::runtime_error("cannot decode image " + path + ": " + message);
  return Convert(decoded, channels);
}

namespace {

// _ImagingResampleHorizontal_8bpc: rows [offset, offset + out.height) of `in`, resampled to out.width columns.
void HorizontalPass(const Image& in, int offset, const Coefficients& coeffs, Image* out) {
  const int channels = in.channels;
  for (int yy = 0; yy < out->height; ++yy) {
    const uint8_t* row = in.pixels.data() + static_cast<size_t>(yy + offset) * in.width * channels;
    uint8_t* dst = out->pixels.data() + static_cast<size_t>(yy) * out->width * channels;
    for (int xx = 0; xx < out->width; ++xx) {
      const int xmin = coeffs.bounds[xx * 2];
      const int xmax = coeffs.bounds[xx * 2 + 1];
      const int32_t* k = &coeffs.kk[static_cast<size_t>(xx) * coeffs.ksize];
      for (int c = 0; c < channels; ++c) {
        int ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < xmax; ++x) ss += row[(x + xmin) * channels + c] * k[x];
        dst[xx * channels + c] = Clip8Fixed(ss);
      }
    }
  }
}

// _ImagingResampleVertical_8bpc: `in` resampled to out.height rows (same width).
void VerticalPass(const Image& in, const Coefficients& coeffs, Image* out) {
  const size_t stride = static_cast<size_t>(in.width) * in.channels;
  for (int yy = 0; yy < out->height; ++yy) {
    const int ymin = coeffs.bounds[yy * 2];
    const int ymax = coeffs.bounds[yy * 2 + 1];
    const int32_t* k = &coeffs.kk[static_cast<size_t>(yy) * coeffs.ksize];
    uint8_t* dst = out->pixels.data() + static_cast<size_t>(yy) * stride;
    for (size_t i = 0; i < stride; ++i) {
      int ss = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) ss += in.pixels[(y + ymin) * stride + i] * k[y];
      dst[i] = Clip8Fixed(ss);
    }
  }
}

Image Blank(int width, int height, int channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(static_cast<size_t>(width) * height * channels);
  return image;
}

}  // namespace

// ImagingResampleInner. The two passes round to 8 bits in between, so their order changes pixels: newer Pillow
// (checked against 13.0) runs the vertical pass first when the height shrinks by more than twice as many pixels as the
// width does; Pillow 11.0 and older always ran the horizontal pass first.
Image ResizeBilinear(const Image& image, int width, int height) {
  if (width <= 0 || height <= 0) throw std::runtime_error("label_image: the input size must be positive");
  if (image.width == width && image.height == height) return image;
  const bool need_horizontal = width != image.width;
  const bool need_vertical = height != image.height;
  const bool horizontal_first =
      !((image.height - height) > 0 && (image.height - height) > (image.width - width) * 2);
  Coefficients vertical = PrecomputeCoeffs(image.height, height);
  const Coefficients horizontal = PrecomputeCoeffs(image.width, width);
  if (horizontal_first) {
    Image current = image;
    if (need_horizontal) {
      // Only the source rows that the vertical pass reads.
      const int ybox_first = vertical.bounds[0];
      const int ybox_last = vertical.bounds[height * 2 - 2] + vertical.bounds[height * 2 - 1];
      for (int i = 0; i < height; ++i) vertical.bounds[i * 2] -= ybox_first;
      Image temp = Blank(width, ybox_last - ybox_first, image.channels);
      HorizontalPass(image, ybox_first, horizontal, &temp);
      current = std::move(temp);
    }
    if (need_vertical) {
      Image out = Blank(width, height, image.channels);
      VerticalPass(current, vertical, &out);
      current = std::move(out);
    }
    return current;
  }
  Image temp = Blank(image.width, height, image.channels);  // need_vertical holds here
  VerticalPass(image, vertical, &temp);
  if (!need_horizontal) return temp;
  Image out = Blank(width, height, image.channels);
  HorizontalPass(temp, 0, horizontal, &out);
  return out;
}

std::vector<float> ToNCHW(const Image& image, float mean, float std) {
  const size_t plane = static_cast<size_t>(image.width) * image.height;
  std::vector<float> tensor(plane * image.channels);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < image.channels; ++c) {
      // Two float32 operations, as numpy does (array - mean) / std on a float32 array.
      const float shifted = static_cast<float>(image.pixels[i * image.channels + c]) - mean;
      tensor[c * plane + i] = shifted / std;
    }
  }
  return tensor;
}

std::vector<float> ReadTensorFromImageFile(const std::string& path, int height, int width, float mean, float std,
                                           int channels) {
  return ToNCHW(ResizeBilinear(ReadImage(path, channels), width, height), mean, std);
}

}  // namespace label_image
