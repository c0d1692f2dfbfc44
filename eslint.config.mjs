import nx from '@nx/eslint-plugin';

// The layer rule of DESIGN.md section 1: a project imports only projects of a
// lower layer (larger L number) and `layer:model`; the model imports nothing of ours.
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/.nx', '**/tmp', '**/data'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'layer:model', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'layer:l6', onlyDependOnLibsWithTags: ['layer:model'] },
            { sourceTag: 'layer:l4', onlyDependOnLibsWithTags: ['layer:l6', 'layer:model'] },
            { sourceTag: 'layer:l3', onlyDependOnLibsWithTags: ['layer:l4', 'layer:l6', 'layer:model'] },
            // The two apps are composition roots: the API (L2) and the worker (L5),
            // which hosts the job processors that the L3/L4 libs define. No project
            // imports an app.
            { sourceTag: 'layer:l2', onlyDependOnLibsWithTags: ['layer:l3', 'layer:l4', 'layer:l6', 'layer:model'] },
            { sourceTag: 'layer:l5', onlyDependOnLibsWithTags: ['layer:l3', 'layer:l4', 'layer:l6', 'layer:model'] },
            { sourceTag: '*', notDependOnLibsWithTags: ['layer:l2', 'layer:l5'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
