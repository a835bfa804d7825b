// Prints a new armored OpenPGP secret key (ed25519, version 4, no passphrase) for the bench's signer.
import { generateKey } from 'openpgp';

const { privateKey } = await generateKey({
  type: 'ecc',
  curve: 'curve25519Legacy',
  userIDs: [{ name: 'Restorable bench', email: 'bench@example.com' }],
  format: 'armored',
});
process.stdout.write(privateKey);
