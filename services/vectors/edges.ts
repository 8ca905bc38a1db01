
/** A growable list of (i, j, similarity) edges with i < j: typed arrays, no object per pair. */
export class EdgeList {
  i = new Int32Array(1024);
  j = new Int32Array(1024);
  s = new Float32Array(1024);
  length = 0;
  push(a: number, b: number, sim: number): void {
    if (this.length === this.i.length) {
      const grow = <T extends Int32Array | Float32Array>(x: T, make: (n: number) => T) => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      this.i = grow(this.i, (n) => new Int32Array(n));
      this.j = grow(this.j, (n) => new Int32Array(n));
      this.s = grow(this.s, (n) => new Float32Array(n));
    }
    this.i[this.length] = a;
    this.j[this.length] = b;
    this.s[this.length] = sim;
    this.length++;
  }
}
