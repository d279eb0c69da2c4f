// JPEG 2000 codec comparison behind the same calls mammoflow makes (docs/dicom.md, "Grok against OpenJPEG"):
// decodes one raw codestream with libopenjp2 and with libgrokj2k, one thread each, at full size and at
// reduce 2, alternating, best of N; prints the times and whether the samples are identical.
//
//   apt-get install libopenjp2-7-dev libgrokj2k1-dev
//   cc -O2 -o j2k_codec_compare scripts/j2k_codec_compare.c $(pkg-config --cflags --libs libopenjp2 libgrokj2k)
//   ./j2k_codec_compare CODESTREAM.j2k [ROUNDS]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openjpeg.h>
#include <grok.h>

typedef struct { const unsigned char *p; size_t n, pos; } src_t;
static OPJ_SIZE_T rd(void *b, OPJ_SIZE_T n, void *u) { src_t *s = u; size_t k = s->n - s->pos < n ? s->n - s->pos : n; if (!k) return (OPJ_SIZE_T)-1; memcpy(b, s->p + s->pos, k); s->pos += k; return k; }
static OPJ_OFF_T sk(OPJ_OFF_T n, void *u) { src_t *s = u; s->pos += n; return n; }
static OPJ_BOOL se(OPJ_OFF_T n, void *u) { src_t *s = u; s->pos = n; return 1; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static int32_t *opj(const unsigned char *buf, size_t n, int reduce, int *w, int *h) {
  src_t s = {buf, n, 0};
  opj_codec_t *c = opj_create_decompress(OPJ_CODEC_J2K);
  opj_dparameters_t p; opj_set_default_decoder_parameters(&p); opj_setup_decoder(c, &p);
  opj_decoder_set_strict_mode(c, 1);
  opj_stream_t *st = opj_stream_create(1 << 20, 1);
  opj_stream_set_user_data(st, &s, NULL); opj_stream_set_user_data_length(st, n);
  opj_stream_set_read_function(st, rd); opj_stream_set_skip_function(st, sk); opj_stream_set_seek_function(st, se);
  opj_image_t *im = NULL; opj_read_header(st, c, &im);
  if (reduce) opj_set_decoded_resolution_factor(c, reduce);
  if (!opj_decode(c, st, im) || !opj_end_decompress(c, st)) { fprintf(stderr, "opj failed\n"); exit(1); }
  *w = im->comps[0].w; *h = im->comps[0].h;
  int32_t *out = malloc(sizeof(int32_t) * *w * *h); memcpy(out, im->comps[0].data, sizeof(int32_t) * *w * *h);
  opj_image_destroy(im); opj_stream_destroy(st); opj_destroy_codec(c);
  return out;
}

static int32_t *grk(unsigned char *buf, size_t n, int reduce, int *w, int *h) {
  grk_stream_params sp; memset(&sp, 0, sizeof sp); sp.buf = buf; sp.len = n;
  grk_decompress_core_params p; grk_decompress_set_default_params(&p); p.reduce = reduce;
  grk_codec *c = grk_decompress_init(&sp, &p);
  grk_header_info hi; memset(&hi, 0, sizeof hi);
  if (!c || !grk_decompress_read_header(c, &hi)) { fprintf(stderr, "grk header failed\n"); exit(1); }
  if (!grk_decompress(c, NULL)) { fprintf(stderr, "grk failed\n"); exit(1); }
  grk_image *im = grk_decompress_get_composited_image(c);
  grk_image_comp *k = &im->comps[0];
  *w = k->w; *h = k->h;
  int32_t *out = malloc(sizeof(int32_t) * *w * *h);
  for (int y = 0; y < *h; y++) memcpy(out + (size_t)y * *w, k->data + (size_t)y * k->stride, sizeof(int32_t) * *w);
  grk_object_unref(c);
  return out;
}

int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); size_t n = ftell(f); fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n); fread(buf, 1, n, f); fclose(f);
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  grk_initialize(NULL, 1);
  grk_set_msg_handlers(NULL, NULL, NULL, NULL, NULL, NULL);
  for (int reduce = 0; reduce <= 2; reduce += 2) {
    double bo = 1e9, bg = 1e9; int ow, oh, gw, gh; int32_t *a = 0, *b = 0;
    for (int r = 0; r < rounds; r++) {
      double t = now(); free(a); a = opj(buf, n, reduce, &ow, &oh); t = now() - t; if (t < bo) bo = t;
      t = now(); free(b); b = grk(buf, n, reduce, &gw, &gh); t = now() - t; if (t < bg) bg = t;
    }
    int same = ow == gw && oh == gh && !memcmp(a, b, sizeof(int32_t) * ow * oh);
    printf("%s reduce=%d %dx%d openjpeg %.3f s grok %.3f s ratio %.2f bit-exact %s\n", argv[1], reduce, ow, oh, bo, bg, bo / bg, same ? "yes" : "NO");
  }
  return 0;
}
