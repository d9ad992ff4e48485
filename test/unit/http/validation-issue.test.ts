import type { FastifySchemaValidationError } from 'fastify';
import { describe, expect, it } from 'vitest';
import { validationIssue } from '../../../src/http/error-handler.js';

const ajvError = (error: Partial<FastifySchemaValidationError>): FastifySchemaValidationError => ({
  keyword: 'type',
  instancePath: '',
  schemaPath: '#/type',
  params: {},
  message: 'must be string',
  ...error,
});

describe('validationIssue names the element of a schema validation failure', () => {
  it('a query or path parameter by its name', () => {
    expect(validationIssue({ validationContext: 'querystring', validation: [ajvError({ instancePath: '/_count' })] })).toEqual({
      expression: '_count',
      diagnostics: 'querystring _count must be string',
    });
  });

  it('a body element as a FHIRPath-style path, array indexes in brackets', () => {
    const issue = validationIssue({ validationContext: 'body', validation: [ajvError({ instancePath: '/feedback/0/card' })] });
    expect(issue).toEqual({ expression: 'feedback[0].card', diagnostics: 'body feedback[0].card must be string' });
  });

  it('a missing property by its own name, not its parent', () => {
    const issue = validationIssue({
      validationContext: 'body',
      validation: [ajvError({ keyword: 'required', instancePath: '/context', params: { missingProperty: 'patientId' }, message: "must have required property 'patientId'" })],
    });
    expect(issue.expression).toBe('context.patientId');
  });

  it('an unexpected property by its name; JSON Pointer escapes undone', () => {
    const issue = validationIssue({
      validationContext: 'body',
      validation: [ajvError({ keyword: 'additionalProperties', instancePath: '/a~1b', params: { additionalProperty: 'x' } })],
    });
    expect(issue.expression).toBe('a/b.x');
  });

  it('the body as a whole as $this', () => {
    expect(validationIssue({ validationContext: 'body', validation: [ajvError({ message: 'must be object' })] })).toEqual({
      expression: '$this',
      diagnostics: 'body must be object',
    });
  });
});
