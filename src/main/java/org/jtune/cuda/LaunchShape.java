package org.jtune.cuda;

/** Grid and block dimensions of a launch, and its dynamic shared memory in bytes. */
public record LaunchShape(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {

    public LaunchShape {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0) {
            throw new IllegalArgumentException("invalid launch shape: grid " + gridX + "x" + gridY + "x" + gridZ
                    + ", block " + blockX + "x" + blockY + "x" + blockZ + ", shared " + sharedBytes);
        }
    }

    /** A one-dimensional launch with no dynamic shared memory. */
    public static LaunchShape of(int grid, int block) {
        return new LaunchShape(grid, 1, 1, block, 1, 1, 0);
    }

    /** A one-dimensional launch with dynamic shared memory. */
    public static LaunchShape of(int grid, int block, int sharedBytes) {
        return new LaunchShape(grid, 1, 1, block, 1, 1, sharedBytes);
    }

    /** The same launch with another grid. */
    public LaunchShape withGrid(int x, int y, int z) {
        return new LaunchShape(x, y, z, blockX, blockY, blockZ, sharedBytes);
    }

    public int threadsPerBlock() {
        return blockX * blockY * blockZ;
    }

    /** Blocks needed to give one thread to each of {@code work} items, {@code block} threads a block. */
    public static int blocksFor(long work, int block) {
        long blocks = (work + block - 1) / block;
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(work + " items need more than 2^31-1 blocks of " + block);
        }
        return (int) Math.max(1, blocks);
    }
}
