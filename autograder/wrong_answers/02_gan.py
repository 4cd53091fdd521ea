"""Realistic mistakes in lesson 02 (GAN); each must lose points only in the test cells that judge its own answer cell
(every graded cell after it, up to the next answer cell).

Not listed on purpose: fresh noise for the G step (Algorithm 1 of Goodfellow et al.) is a valid variant that the
checks accept."""

WRONG_ANSWERS = [
    # Exercise 1: sample_noise
    dict(cell="sample_noise", why="uniform noise U[0, 1) instead of N(0, I)",
         replace=[("torch.randn(n, latent_dim", "torch.rand(n, latent_dim")]),
    dict(cell="sample_noise", why="ignores the seeded generator",
         replace=[("generator=generator)", ")")]),
    dict(cell="sample_noise", why="not moved to `device`",
         replace=[("return noise.to(device)", "return noise")]),
    # Exercise 2: discriminator_loss
    dict(cell="discriminator_loss", why="labels swapped: real -> 0, fake -> 1",
         replace=[("(real_logits, ones)", "(real_logits, zeros)"), ("(fake_logits, zeros)", "(fake_logits, ones)")]),
    dict(cell="discriminator_loss", why="sigmoid applied before a with-logits loss (sigmoid twice)",
         replace=[("(real_logits, ones)", "(torch.sigmoid(real_logits), ones)"),
                  ("(fake_logits, zeros)", "(torch.sigmoid(fake_logits), zeros)")]),
    dict(cell="discriminator_loss", why="plain BCE applied to logits (not probabilities)",
         replace=[("F.binary_cross_entropy_with_logits(real_logits", "F.binary_cross_entropy(real_logits"),
                  ("F.binary_cross_entropy_with_logits(fake_logits", "F.binary_cross_entropy(fake_logits")]),
    dict(cell="discriminator_loss", why="the two batch means averaged instead of summed",
         replace=[("return loss_real + loss_fake", "return (loss_real + loss_fake) / 2")]),
    dict(cell="discriminator_loss", why="fake term detached: right value, no gradient into the fake logits",
         replace=[("(fake_logits, zeros)", "(fake_logits.detach(), zeros)")]),
    dict(cell="discriminator_loss", why="-log(sigmoid(l)) written out: inf for large negative logits",
         replace=[("F.binary_cross_entropy_with_logits(real_logits, ones)", "-torch.log(torch.sigmoid(real_logits)).mean()")]),
    # Exercise 3: generator_loss
    dict(cell="generator_loss", why="saturating loss with the wrong sign: -log(1 - D(G(z)))",
         replace=[("return -F.softplus(fake_logits).mean()", "return F.softplus(fake_logits).mean()")]),
    dict(cell="generator_loss", why="the two losses swapped (flag inverted)",
         replace=[("if saturating:", "if not saturating:")]),
    dict(cell="generator_loss", why="non-saturating loss with target 0 instead of 1",
         replace=[("torch.ones_like(fake_logits))", "torch.zeros_like(fake_logits))")]),
    dict(cell="generator_loss", why="log(1 - sigmoid(l)) written out: -inf for large logits",
         replace=[("return -F.softplus(fake_logits).mean()", "return torch.log(1 - torch.sigmoid(fake_logits)).mean()")]),
    dict(cell="generator_loss", why="non-saturating loss computed on detached logits (no gradient)",
         replace=[("F.binary_cross_entropy_with_logits(fake_logits,", "F.binary_cross_entropy_with_logits(fake_logits.detach(),")]),
    # Exercise 4: Generator
    dict(cell="generator_net", why="no tanh at the end",
         replace=[(", nn.Tanh()]", "]")]),
    dict(cell="generator_net", why="sigmoid instead of tanh at the end (samples in [0, 1])",
         replace=[("nn.Tanh()", "nn.Sigmoid()")]),
    dict(cell="generator_net", why="ReLU instead of LeakyReLU(0.2)",
         replace=[("nn.LeakyReLU(0.2)]", "nn.ReLU()]")]),
    dict(cell="generator_net", why="LeakyReLU with the default slope 0.01",
         replace=[("nn.LeakyReLU(0.2)]", "nn.LeakyReLU()]")]),
    dict(cell="generator_net", why="output not reshaped to out_shape",
         replace=[("return self.net(z).view(len(z), *self.out_shape)", "return self.net(z)")]),
    dict(cell="generator_net", why="only the first hidden width used",
         replace=[("widths = [latent_dim, *hidden]", "widths = [latent_dim, hidden[0]]")]),
    dict(cell="generator_net", why="no activation between the hidden layers",
         replace=[("layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2)]", "layers += [nn.Linear(w_in, w_out)]")]),
    # Exercise 5: Discriminator
    dict(cell="discriminator_net", why="sigmoid at the end (probabilities, not logits)",
         replace=[("layers += [nn.Linear(widths[-1], 1)]", "layers += [nn.Linear(widths[-1], 1), nn.Sigmoid()]")]),
    dict(cell="discriminator_net", why="output of shape (N, 1), not squeezed",
         replace=[("return self.net(x).squeeze(1)", "return self.net(x)")]),
    dict(cell="discriminator_net", why="ReLU instead of LeakyReLU(0.2)",
         replace=[("nn.LeakyReLU(0.2)]", "nn.ReLU()]")]),
    dict(cell="discriminator_net", why="Linear layers without bias",
         replace=[("nn.Linear(w_in, w_out)", "nn.Linear(w_in, w_out, bias=False)")]),
    dict(cell="discriminator_net", why="input not flattened",
         replace=[("layers = [nn.Flatten()]", "layers = []")]),
    # Exercise 6: train_step
    dict(cell="train_step", why="fakes not detached in the D step (and reused in the G step)",
         replace=[("D(fake.detach())", "D(fake)")]),
    dict(cell="train_step", why="opt_d.zero_grad() missing: D's gradients accumulate across calls",
         replace=[("    opt_d.zero_grad()\n", "")]),
    dict(cell="train_step", why="opt_g.zero_grad() missing: G's gradients accumulate across calls",
         replace=[("    opt_g.zero_grad()\n", "")]),
    dict(cell="train_step", why="opt_d.zero_grad() after backward: D never moves",
         replace=[("    opt_d.zero_grad()\n    loss_d.backward()\n", "    loss_d.backward()\n    opt_d.zero_grad()\n")]),
    dict(cell="train_step", why="the G step steps D's optimizer",
         replace=[("opt_g.step()", "opt_d.step()")]),
    dict(cell="train_step", why="saturating generator loss used by mistake",
         replace=[("generator_loss(D(fake))", "generator_loss(D(fake), saturating=True)")]),
    dict(cell="train_step", why="D left in whatever mode it was in (no D.train())",
         replace=[("    D.train()\n", "")]),
    dict(cell="train_step", why="G left in whatever mode it was in (no G.train())",
         replace=[("    G.train()\n", "")]),
    dict(cell="train_step", why="G step before the D step",
         replace=[("""    # D step: minimise L_D; fake.detach() makes G(z) a constant here
    real_logits = D(real)
    fake_logits = D(fake.detach())
    loss_d = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()

    # G step: minimise L_G^ns = -mean log D(G(z)) through the updated D; only G's optimizer steps
    loss_g = generator_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
""", """    loss_g = generator_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()

    real_logits = D(real)
    fake_logits = D(fake.detach())
    loss_d = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
""")]),
    dict(cell="train_step", why="D's logits for the G step detached",
         replace=[("generator_loss(D(fake))", "generator_loss(D(fake).detach())")]),
    dict(cell="train_step", why="D's logits for the G step computed before D's update",
         replace=[("    loss_d = discriminator_loss(real_logits, fake_logits)\n",
                   "    loss_d = discriminator_loss(real_logits, fake_logits)\n    g_logits = D(fake)\n"),
                  ("generator_loss(D(fake))", "generator_loss(g_logits)")]),
    dict(cell="train_step", why="fake batch made under torch.no_grad(): G gets no gradient",
         replace=[("    fake = G(sample_noise(len(real), latent_dim, real.device, generator))",
                   "    with torch.no_grad():\n        fake = G(sample_noise(len(real), latent_dim, real.device, generator))")]),
    dict(cell="train_step", why="d_real returned as the mean logit, not the mean D(x)",
         replace=[("torch.sigmoid(real_logits).mean().item()", "real_logits.mean().item()")]),
    dict(cell="train_step", why="d_fake returned as a sum over the batch",
         replace=[("torch.sigmoid(fake_logits).mean().item()", "torch.sigmoid(fake_logits).sum().item()")]),
    dict(cell="train_step", why="d_real returned as 1 - D(x)",
         replace=[("torch.sigmoid(real_logits).mean().item()", "(1 - torch.sigmoid(real_logits)).mean().item()")]),
    dict(cell="train_step", why="d_real and d_fake swapped",
         replace=[('"d_real": torch.sigmoid(real_logits)', '"d_real": torch.sigmoid(fake_logits)'),
                  ('"d_fake": torch.sigmoid(fake_logits)', '"d_fake": torch.sigmoid(real_logits)')]),
    dict(cell="train_step", why="d_fake computed from the G step's logits (after D's update)",
         replace=[("loss_g = generator_loss(D(fake))", "g_logits = D(fake)\n    loss_g = generator_loss(g_logits)"),
                  ('"d_fake": torch.sigmoid(fake_logits)', '"d_fake": torch.sigmoid(g_logits)')]),
    dict(cell="train_step", why="loss_d returned as a tensor (no .item())",
         replace=[('{"loss_d": loss_d.item(),', '{"loss_d": loss_d,')]),
]
