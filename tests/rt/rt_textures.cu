/* Texture and surface objects and mipmapped arrays through the runtime: a
 * kernel samples a 2D float array through texture objects (clamped and
 * bordered edges) and pitched device memory through another, writes an
 * array through a surface object, and the runtime reports the objects'
 * descriptors with the program's own array handle; a mipmapped array's
 * levels have halving sizes and take copies. */
#include "rt.h"

enum { W = 29, H = 13, EXTRA = 2 }; /* EXTRA rows read past the bottom edge */

static cudaTextureObject_t texture_on(const cudaResourceDesc &res, cudaTextureAddressMode mode)
{
    cudaTextureDesc td = {};
    td.addressMode[0] = td.addressMode[1] = mode;
    td.filterMode = cudaFilterModePoint;
    td.readMode = cudaReadModeElementType;
    td.borderColor[0] = -1.0f;
    cudaTextureObject_t t = 0;
    RT_CHECK(cudaCreateTextureObject(&t, &res, &td, NULL));
    return t;
}

/* Samples W x (H + EXTRA) texels of t into host. */
static void read_texture(cudaTextureObject_t t, float *dev_out, float *host)
{
    const int n = W * (H + EXTRA);
    rm_tex_read<<<4, 64>>>(t, dev_out, W, n);
    RT_CHECK(cudaGetLastError());
    RT_CHECK(cudaMemcpy(host, dev_out, n * sizeof(float), cudaMemcpyDeviceToHost));
}

int main()
{
    static float img[H][W], got[H + EXTRA][W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y][x] = (float)(y * 1000 + x);
    float *dev_out;
    RT_CHECK(cudaMalloc(&dev_out, sizeof got));

    cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
    cudaArray_t arr;
    RT_CHECK(cudaMallocArray(&arr, &f, W, H, cudaArraySurfaceLoadStore));
    RT_CHECK(cudaMemcpy2DToArray(arr, 0, 0, img, sizeof img[0], sizeof img[0], H, cudaMemcpyHostToDevice));
    cudaResourceDesc res = {};
    res.resType = cudaResourceTypeArray;
    res.res.array.array = arr;

    /* clamped: the extra rows repeat the last one */
    cudaTextureObject_t clamp = texture_on(res, cudaAddressModeClamp);
    read_texture(clamp, dev_out, &got[0][0]);
    RT_EXPECT(got[0][0] == img[0][0] && got[H - 1][W - 1] == img[H - 1][W - 1] && got[3][7] == img[3][7]);
    RT_EXPECT(got[H][5] == img[H - 1][5] && got[H + 1][W - 1] == img[H - 1][W - 1]);
    printf("clamped texture: %g %g, past the edge %g\n", got[3][7], got[H - 1][W - 1], got[H + 1][5]);

    /* bordered: the extra rows are the border colour */
    cudaTextureObject_t border = texture_on(res, cudaAddressModeBorder);
    read_texture(border, dev_out, &got[0][0]);
    RT_EXPECT(got[2][2] == img[2][2] && got[H][0] == -1.0f && got[H + 1][W - 1] == -1.0f);
    printf("bordered texture: %g, past the edge %g\n", got[2][2], got[H][0]);

    /* what the runtime reports of an object: the program's array handle */
    cudaResourceDesc back_res;
    cudaTextureDesc back_td;
    RT_CHECK(cudaGetTextureObjectResourceDesc(&back_res, border));
    RT_CHECK(cudaGetTextureObjectTextureDesc(&back_td, border));
    RT_EXPECT(back_res.resType == cudaResourceTypeArray && back_res.res.array.array == arr);
    /* printed, not asserted (the GPU suite compares it with the native
     * run); not the border colour: the H200's driver leaves it unwritten */
    printf("texture descriptor: array %s, address modes %d %d, filter %d, read mode %d\n",
           back_res.res.array.array == arr ? "same" : "other", (int)back_td.addressMode[0],
           (int)back_td.addressMode[1], (int)back_td.filterMode, (int)back_td.readMode);

    /* pitched device memory as a texture */
    float *pitched;
    size_t pitch;
    RT_CHECK(cudaMallocPitch((void **)&pitched, &pitch, W * sizeof(float), H));
    RT_CHECK(cudaMemcpy2D(pitched, pitch, img, sizeof img[0], sizeof img[0], H, cudaMemcpyHostToDevice));
    cudaResourceDesc pres = {};
    pres.resType = cudaResourceTypePitch2D;
    pres.res.pitch2D.devPtr = pitched;
    pres.res.pitch2D.desc = f;
    pres.res.pitch2D.width = W;
    pres.res.pitch2D.height = H;
    pres.res.pitch2D.pitchInBytes = pitch;
    cudaTextureObject_t ptex = texture_on(pres, cudaAddressModeClamp);
    read_texture(ptex, dev_out, &got[0][0]);
    RT_EXPECT(got[H - 1][3] == img[H - 1][3] && got[H + 1][3] == img[H - 1][3]);
    printf("pitched texture: %g\n", got[H - 1][3]);

    /* a surface writes the array; writes past its edges are dropped */
    cudaSurfaceObject_t surf = 0;
    RT_CHECK(cudaCreateSurfaceObject(&surf, &res));
    rm_surf_write<<<3, 32>>>(surf, W, W * (H + EXTRA));
    RT_CHECK(cudaGetLastError());
    static float written[H][W];
    RT_CHECK(cudaMemcpy2DFromArray(written, sizeof written[0], arr, 0, 0, sizeof written[0], H,
                                   cudaMemcpyDeviceToHost));
    RT_EXPECT(written[0][1] == 1.0f && written[H - 1][W - 1] == (float)(H * W - 1));
    cudaResourceDesc sres;
    RT_CHECK(cudaGetSurfaceObjectResourceDesc(&sres, surf));
    RT_EXPECT(sres.res.array.array == arr);
    printf("surface write: %g %g\n", written[1][0], written[H - 1][W - 1]);

    /* and the texture sees what the surface wrote */
    read_texture(clamp, dev_out, &got[0][0]);
    RT_EXPECT(got[1][0] == (float)W);
    printf("texture after surface write: %g\n", got[1][0]);

    RT_CHECK(cudaDestroySurfaceObject(surf));
    RT_CHECK(cudaDestroyTextureObject(clamp));
    RT_CHECK(cudaDestroyTextureObject(border));
    RT_CHECK(cudaDestroyTextureObject(ptex));

    /* mipmapped array: level sizes halve; a level takes copies */
    cudaMipmappedArray_t mip;
    RT_CHECK(cudaMallocMipmappedArray(&mip, &f, make_cudaExtent(W, H, 0), 4));
    for (unsigned l = 0; l < 4; l++) {
        cudaArray_t level;
        cudaExtent e;
        cudaChannelFormatDesc lf;
        RT_CHECK(cudaGetMipmappedArrayLevel(&level, mip, l));
        RT_CHECK(cudaArrayGetInfo(&lf, &e, NULL, level));
        printf("mipmap level %u: %zu x %zu\n", l, e.width, e.height);
        RT_CHECK(cudaMemcpy2DToArray(level, 0, 0, img, sizeof img[0], e.width * sizeof(float), e.height,
                                     cudaMemcpyHostToDevice));
        static float lv[H][W];
        RT_CHECK(cudaMemcpy2DFromArray(lv, sizeof lv[0], level, 0, 0, e.width * sizeof(float), e.height,
                                       cudaMemcpyDeviceToHost));
        RT_EXPECT(lv[e.height - 1][e.width - 1] == img[e.height - 1][e.width - 1]);
    }
    cudaArray_t none;
    RT_EXPECT(cudaGetMipmappedArrayLevel(&none, mip, 9) != cudaSuccess);
    (void)cudaGetLastError();
    printf("level past the last refused\n");
    RT_CHECK(cudaFreeMipmappedArray(mip));

    RT_CHECK(cudaFreeArray(arr));
    RT_CHECK(cudaFree(pitched));
    RT_CHECK(cudaFree(dev_out));
    printf("PASS rt_textures\n");
    return 0;
}
