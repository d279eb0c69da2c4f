#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors by longjmp, which Swift cannot catch. These two helpers keep every setjmp and every
   libpng call inside C, and hand Swift a status code, a message and a malloc'd buffer (free it with free()).
   Unlike libpng's simplified API they write no gAMA/cHRM chunk for 16-bit data and apply no gamma on
   reading, so sample values go through unchanged. */

typedef struct {
    unsigned char *data;
    size_t size, capacity, position;
    char message[200];
} mf_png_io;

static void mf_png_fail(png_structp png, png_const_charp message) {
    mf_png_io *io = (mf_png_io *)png_get_error_ptr(png);
    strncpy(io->message, message, sizeof io->message - 1);
    io->message[sizeof io->message - 1] = 0;
    png_longjmp(png, 1);
}

static void mf_png_warn(png_structp png, png_const_charp message) { (void)png; (void)message; }

static void mf_png_append(png_structp png, png_bytep bytes, png_size_t count) {
    mf_png_io *io = (mf_png_io *)png_get_io_ptr(png);
    if (io->size + count > io->capacity) {
        size_t capacity = io->capacity ? io->capacity : 65536;
        while (capacity < io->size + count) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(io->data, capacity);
        if (!grown) png_error(png, "out of memory");
        io->data = grown;
        io->capacity = capacity;
    }
    memcpy(io->data + io->size, bytes, count);
    io->size += count;
}

static void mf_png_flush(png_structp png) { (void)png; }

/* Encodes rows of `channels` (1 gray, 3 RGB) samples of `depth` bits (8, or 16 in host byte order) into a
   PNG in memory. `significant_bits` (1...depth) goes into an sBIT chunk when smaller than depth.
   Returns 0 and sets *out/*out_size, or returns 1 with the reason in `message`. */
static inline int mf_png_encode(const void *pixels, unsigned width, unsigned height, int channels, int depth,
                                int significant_bits, int level, unsigned char **out, size_t *out_size,
                                char *message, size_t message_size) {
    mf_png_io io;
    memset(&io, 0, sizeof io);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, mf_png_fail, mf_png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = (png_bytep *)malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!png || !info || !rows) {
        if (png) png_destroy_write_struct(&png, info ? &info : NULL);
        free(rows);
        strncpy(message, "out of memory", message_size);
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(io.data);
        strncpy(message, io.message, message_size);
        return 1;
    }
    png_set_write_fn(png, &io, mf_png_append, mf_png_flush);
    png_set_compression_level(png, level);
    png_set_IHDR(png, info, width, height, depth, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (significant_bits > 0 && significant_bits < depth) {
        png_color_8 sig;
        memset(&sig, 0, sizeof sig);
        sig.gray = sig.red = sig.green = sig.blue = (png_byte)significant_bits;
        png_set_sBIT(png, info, &sig);
    }
    png_write_info(png, info);
    if (depth == 16) {
        const unsigned short probe = 1;
        if (*(const unsigned char *)&probe == 1) png_set_swap(png); /* PNG is big-endian */
    }
    size_t stride = (size_t)width * channels * (depth / 8);
    for (unsigned y = 0; y < height; y++) rows[y] = (png_bytep)pixels + y * stride;
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *out = io.data;
    *out_size = io.size;
    return 0;
}

static void mf_png_consume(png_structp png, png_bytep bytes, png_size_t count) {
    mf_png_io *io = (mf_png_io *)png_get_io_ptr(png);
    if (count > io->size - io->position) png_error(png, "file ends early");
    memcpy(bytes, io->data + io->position, count);
    io->position += count;
}

/* Decodes a PNG to gray (1 channel) or RGB (3 channels), 8 bits or 16 bits in host byte order: palettes are
   expanded, alpha is dropped, samples of fewer than 8 bits are widened to 8 (by scaling), no gamma applied.
   Returns 0 and sets the outputs (the pixel buffer is malloc'd), or 1 with the reason in `message`. */
static inline int mf_png_decode(const unsigned char *bytes, size_t count, unsigned char **pixels,
                                unsigned *width, unsigned *height, int *channels, int *depth,
                                char *message, size_t message_size) {
    mf_png_io io;
    memset(&io, 0, sizeof io);
    io.data = (unsigned char *)bytes;
    io.size = count;
    if (count < 8 || png_sig_cmp(bytes, 0, 8) != 0) {
        strncpy(message, "not a PNG file (bad signature)", message_size);
        return 1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, mf_png_fail, mf_png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        strncpy(message, "out of memory", message_size);
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buffer);
        free(rows);
        strncpy(message, io.message, message_size);
        return 1;
    }
    png_set_read_fn(png, &io, mf_png_consume);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), bit_depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (bit_depth == 16) {
        const unsigned short probe = 1;
        if (*(const unsigned char *)&probe == 1) png_set_swap(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int out_channels = png_get_channels(png, info), out_depth = png_get_bit_depth(png, info);
    size_t stride = png_get_rowbytes(png, info);
    if (h == 0 || stride > ((size_t)-1) / h) png_error(png, "image too large");
    buffer = (unsigned char *)malloc(stride * h);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    *pixels = buffer;
    *width = w;
    *height = h;
    *channels = out_channels;
    *depth = out_depth;
    return 0;
}
