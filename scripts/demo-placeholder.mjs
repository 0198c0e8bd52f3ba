console.log('The apphook demo arrives with a later issue (#7). Run `pnpm test` to see the test suite.');
