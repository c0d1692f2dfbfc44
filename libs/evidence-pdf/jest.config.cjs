module.exports = { displayName: 'evidence-pdf', preset: '../../jest.preset.js', rootDir: __dirname };
