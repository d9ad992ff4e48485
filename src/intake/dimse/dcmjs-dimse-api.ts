// dcmjs-dimse is a CommonJS bundle whose named exports Node's ESM loader cannot detect: take the
// module object by default import and re-export the parts the door (and the sandbox's SCU) use,
// typed by its index.d.ts.
import dimse from 'dcmjs-dimse';

export const { Scp, Client, Dataset, constants, requests, responses, log } = dimse;
export type Dataset = InstanceType<typeof dimse.Dataset>;
export type DimseResponse = InstanceType<typeof dimse.responses.Response>;
export type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
export type CStoreResponse = InstanceType<typeof dimse.responses.CStoreResponse>;
export type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
export type CEchoResponse = InstanceType<typeof dimse.responses.CEchoResponse>;
export type DimseAssociation = InstanceType<typeof dimse.association.Association>;
