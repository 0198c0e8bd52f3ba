// Express 4 is installed under the alias `express4` for the compatibility run; it is typed as Express 5,
// whose surface these tests use is the same.
declare module 'express4' {
  import type express from 'express';

  const express4: typeof express;
  export default express4;
}
