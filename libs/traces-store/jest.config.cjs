module.exports = { displayName: 'traces-store', preset: '../../jest.preset.js', rootDir: __dirname };
